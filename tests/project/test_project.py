"""The project's promises to a new user: the README's two commands, CI running the test one."""

import re
import subprocess
import sys

from tests.builders import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", text)


def test_readme_has_exactly_the_two_commands_first():
    commands = _readme_commands()
    assert commands[0].endswith("streamlit run streamlit_app.py")
    assert commands[1].endswith("python -m pytest")


def test_every_streamlit_run_of_the_readme_uses_the_virtual_environments():
    # After the first command there is no `streamlit` on PATH: each mention names .venv's.
    text = (ROOT / "README.md").read_text()
    assert text.count("streamlit run") >= 3
    assert not re.findall(r"(?<![/\\])\bstreamlit run", text)


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _readme_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_torch_is_pinned_to_the_cpu_build():
    reqs = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in reqs
    pinned = [r for r in reqs if r and not r.startswith("#")]
    assert all("==" in r for r in pinned), pinned


def test_import_layers_hold():
    """The import contracts in pyproject.toml (import-linter): layers, no UI libraries in bachlstm."""
    # import-linter's own entry point run by this interpreter (the console script's path differs on Windows)
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"import contracts broken:\n{done.stdout}{done.stderr}"


FOLDERS = ("bachlstm", "app_pages", "benchmarks")


def test_architecture_names_every_module():
    """docs/ARCHITECTURE.md has a line for every module of the library, the dashboard and the benchmarks."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    modules = [p.relative_to(ROOT).as_posix() for d in FOLDERS for p in (ROOT / d).rglob("*.py")]
    missing = [m for m in [*modules, "streamlit_app.py"] if f"- `{m}`: " not in text]
    assert not missing, f"docs/ARCHITECTURE.md does not describe: {missing}"


def test_architecture_describes_no_module_that_is_gone():
    """Every module docs/ARCHITECTURE.md describes (a line `- `path.py`: ...`) exists."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    described = re.findall(r"^- `([\w/]+\.py)`: ", text, flags=re.M)
    assert len(described) > 80, "the module lines were not found: has their format changed?"
    gone = [m for m in described if not (ROOT / m).is_file()]
    assert not gone, f"docs/ARCHITECTURE.md describes modules that do not exist: {gone}"


def test_the_library_is_packages_not_a_flat_folder():
    """`bachlstm/*.py` is only the package itself and its entry point: every module lives in a package."""
    flat = sorted(p.name for p in (ROOT / "bachlstm").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py"]


TEST_FOLDERS_BEYOND_THE_LIBRARY = {"app", "browser", "benchmarks", "project"}


def test_the_tests_mirror_the_packages():
    """Tests live in tests/<package>/ (a folder per library package, plus the pages, the browser, the
    benchmarks and the project), each folder a package so two test files may share a name."""
    tests = ROOT / "tests"
    assert sorted(p.name for p in tests.glob("test_*.py")) == [], "a test module outside its package's folder"
    folders = {p.parent.name for p in tests.rglob("test_*.py")}
    packages = {p.parent.name for p in (ROOT / "bachlstm").glob("*/__init__.py")}
    assert folders - packages == TEST_FOLDERS_BEYOND_THE_LIBRARY & folders, folders - packages
    assert all((tests / f / "__init__.py").is_file() for f in folders)


def test_no_test_module_imports_another():
    """Shared builders live in tests/builders.py and fixtures in tests/conftest.py, never in a test module."""
    import ast

    found = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(part.startswith("test_") for name in names for part in name.split(".")):
                found.append(f"{path.relative_to(ROOT)}: {', '.join(names)}")
    assert not found, found
