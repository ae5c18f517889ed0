"""Training: pick a preset, edit its hyperparameters, train in the background and watch it live."""

import streamlit as st

from app_pages.common import SESSION, check_cost, current_student, job_manager
from app_pages.forms import TRAINING_FIELDS, form_defaults, problems_text
from app_pages.i18n import translator
from app_pages.page_links import apply_link_settings, one_of, plain_text
from app_pages.sweep_views import draw_sweep, live_sweep, start_sweep, sweep_active
from app_pages.texts import TRAINING_HELP, preset_description
from app_pages.training_runs import (
    draw_estimate,
    draw_replace,
    draw_resume,
    find_lost_run,
    followed_job,
    form_preset,
    say_busy,
    start_run,
    taken_run_names,
)
from app_pages.training_views import (
    draw_compare,
    draw_job,
    draw_other_runs,
    draw_queue_table,
    draw_run_settings,
    draw_started,
    fill_run_status,
    live_job,
    live_queued,
)
from bachlstm.classroom.students import default_run_name, next_run_name, run_stem
from bachlstm.model.checkpoints import validate_run_name
from bachlstm.training.jobs import QUEUED, OwnerBusyError
from bachlstm.training.presets import get_preset, preset_names

_ = translator(__name__)

st.title(_("Training"))
manager = job_manager()


def reset_form() -> None:
    for name in TRAINING_FIELDS:  # a new preset brings its own defaults
        st.session_state.pop(f"train_{name}", None)


# A link (the lesson path) may choose the preset and the sweep; a new preset brings its own defaults.
linked = apply_link_settings(
    {
        "train_preset": one_of(preset_names()),
        "sweep_field": one_of(TRAINING_FIELDS),
        "sweep_values": plain_text,
    }
)
if "train_preset" in linked:
    reset_form()
preset_name = st.selectbox(
    _("Preset"), preset_names(), key="train_preset", on_change=reset_form, persist_state=SESSION
)
base = get_preset(preset_name)
st.caption(preset_description(base))
find_lost_run()
defaults = form_defaults(base)
bump = st.session_state.pop("train_bump_name", False)  # after a start, offer the next free name
if bump or "train_run_name" not in st.session_state:
    # Each student is offered names of their own ('anna-workshop-1'), never one already saved, training
    # or reserved: every session used to start at "my-workshop-1", and most first clicks were refused.
    taken = taken_run_names()
    name = st.session_state.get("train_run_name") or default_run_name(current_student(), preset_name)
    st.session_state.train_run_name = next_run_name(name, taken) if bump or name in taken else name

with st.form("train_form"):
    cols, values = st.columns(4), {}
    for i, (name, (label, kind)) in enumerate(TRAINING_FIELDS.items()):
        col, key, tip, label = cols[i % 4], f"train_{name}", _(TRAINING_HELP[name]), _(label)
        # No bounds on the number fields: out of a widget's range a value turns red and Start silently
        # does nothing; the library refuses it instead, with a message that names the field.
        if kind in ("ints", "floats", "text_int", "float"):
            values[name] = col.text_input(label, defaults[name], key=key, persist_state=SESSION, help=tip)
        else:
            values[name] = col.number_input(
                label, value=int(defaults[name]), step=1, key=key, persist_state=SESSION, help=tip
            )
    run_name = st.text_input(
        _("Run name (saved as runs/NAME.safetensors)"),
        key="train_run_name",
        persist_state=SESSION,
        help=_("Letters, digits, '-', '_' or '.'; a saved run is never overwritten."),
    )
    left, right = st.columns([1, 4])
    left.form_submit_button(_("Estimate cost"), key="train_estimate")
    start = right.form_submit_button(_("Start training"), type="primary", key="train_start")
    # The student's run in a line right under Start, filled once the run is known (below): at 800 px the
    # run's progress and chart are a screen or more further down, out of sight after the click.
    started_here = st.container()
    # Open whenever it holds values: a link's sweep (the lesson path) is in sight, and so is one typed.
    sweep_open = bool(str(st.session_state.get("sweep_values") or "").strip())
    with st.expander(
        _("Hyperparameter sweep: these settings, with one field at 2 to 5 values"), expanded=sweep_open
    ):
        c = st.columns([2, 3, 2])
        sweep_field = c[0].selectbox(
            _("Field to vary"),
            list(TRAINING_FIELDS),
            format_func={f: _(label) for f, (label, _kind) in TRAINING_FIELDS.items()}.__getitem__,
            key="sweep_field",
            persist_state=SESSION,
        )
        sweep_text = c[1].text_input(
            _("Values"), key="sweep_values", persist_state=SESSION, help=_(TRAINING_HELP["sweep"])
        )
        sweep_prefix = c[2].text_input(
            _("Run names start with"), f"{run_stem(current_student())}-sweep", key="sweep_prefix",
            persist_state=SESSION,
        )  # fmt: skip
        sweep = st.form_submit_button(_("Start sweep"), key="sweep_start")

if start:
    st.session_state.pop("train_replace", None)
    try:
        preset = form_preset(preset_name, values)
        check_cost(preset)  # refused here, with the setting to lower, not by an allocation failure
        name = validate_run_name(run_name)
        job = start_run(name, preset)  # a taken name moves on to the next free one
    except OwnerBusyError as exc:  # one run per student: say so, offer to stop the first
        say_busy(exc, preset, name)
    except ValueError as exc:  # FormError, PresetError, BudgetError, JobError, CheckpointError, data errors
        st.error(_("Training not started: {problems}").format(problems=problems_text(exc)))
    else:
        st.session_state.train_bump_name = True
        if job.name != name:
            st.info(
                _("**{name}** was taken in the meantime: your run is **{run}**.").format(
                    name=name, run=job.name
                )
            )
elif not sweep:
    draw_estimate(preset_name, values)
draw_replace()

if sweep:
    start_sweep(preset_name, values, sweep_field, sweep_text, f"{sweep_prefix.strip()}-{sweep_field}")
if sweep_active():
    live_sweep(live=True)
else:
    draw_sweep()

job = followed_job()
fill_run_status()  # a run this page run started: its line in the sidebar, drawn before the page
if job is not None:
    with started_here:
        draw_started(job)
        draw_run_settings(job, values)
    st.button(
        _("Stop training"), key="train_stop", disabled=job.is_final, on_click=manager.stop, args=(job.id,)
    )
    if job.status == QUEUED:
        live_queued(job.id)
    elif job.is_active:
        live_job(job.id, live=True)
    else:
        draw_job(job.id)

draw_other_runs(job)
draw_queue_table(manager)
draw_resume()
draw_compare()
fill_run_status()  # a run continued just above
