"""Browser tests: Playwright and Debian Chromium against `streamlit run` on 127.0.0.1."""
