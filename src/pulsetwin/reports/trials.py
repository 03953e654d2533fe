"""The report's field-trial section, in Dutch and English: per registered trial what was tested, the power it
was designed with (and, plainly, when it was registered below its target power), where its pre-registration
sits in the log, and what the pre-registered analysis found, every deviation listed; a forest plot of the rate
ratios when any trial has been analysed.

The trials are read by :func:`pulsetwin.audit.documents.trials.trial_results`, the same reading the model card
and the IAMA draft show; this module only words it. The analysis sentence, the displacement reading and the
deviations are logged in English: the Dutch text restates the numbers and quotes those as logged.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from pulsetwin.audit.summary import category_label, number
from pulsetwin.schema.language import Lang

_DESIGNS: dict[str, tuple[str, str]] = {
    "cluster": ("loting over buurten (clustergerandomiseerd)", "buurten drawn by lot (cluster-randomised)"),
    "crossover": ("loting over perioden binnen elke buurt (cross-over)",
                  "periods drawn by lot within each buurt (crossover)"),
    "stepped_wedge": ("getrapte invoering: elke buurt begint op een gelote stap (stepped wedge)",
                      "stepped wedge: every buurt starts the intervention at a step drawn by lot"),
}  # fmt: skip
_KINDS: dict[str, tuple[str, str]] = {
    "benefit": ("een voorziening", "a service"),
    "enforcement": ("handhaving", "enforcement"),
}


def trials_section(trials: Sequence[Mapping[str, Any]], lang: Lang) -> str:
    """The "Veldproeven / Field trials" section: an explanation, a forest plot when a trial has been analysed,
    then one block per trial; with no trial, that none is registered and how one is started."""
    nl = lang == "nl"
    title = "Veldproeven" if nl else "Field trials"
    head = f"<h2 id='trials-{lang}'>{title}</h2>"
    if not trials:
        none = (
            "Er is nog geen veldproef geregistreerd: of handelen op de voorspelling schade vermindert, is niet "
            "getoetst. Een analist ontwerpt en registreert er een vooraf met "
            if nl
            else "No field trial has been registered: whether acting on the forecast reduces harm has not been "
            "tested. An analyst designs and pre-registers one with "
        )
        command = "pulsetwin trial design --run RUN --spec trial.yaml --out DIR"
        see = " (zie examples/trial.yaml)." if nl else " (see examples/trial.yaml)."
        return f"{head}<p class='warn'>{none}<code>{command}</code>{see}</p>"
    intro = (
        "Een veldproef loot welke buurten de interventie krijgen en vergelijkt ze daarna met de controlebuurten, "
        "gemeten tegen wat de voorspelling verwachtte. Opzet, loting en analysemethode staan vóór de start in "
        "het logboek (preregistratie). Een rate ratio onder 1 betekent minder meldingen met de interventie dan "
        "zonder; 1 betekent geen verschil."
        if nl
        else "A field trial draws by lot which buurten get the intervention and then compares them with the "
        "control buurten, measured against what the forecast expected. Design, allocation and analysis method "
        "are in the log before the start (pre-registration). A rate ratio below 1 means fewer incidents with the "
        "intervention than without; 1 means no difference."
    )
    analysed = [t for t in trials if t["analysis"] is not None]
    figure = (
        forest_figure(analysed, lang).to_html(
            full_html=False,
            include_plotlyjs=False,
            default_width="100%",
            default_height=f"{160 + 40 * len(analysed)}px",
        )
        if analysed
        else ""
    )
    return head + f"<p>{intro}</p>" + figure + "".join(_trial(t, lang) for t in trials)


def forest_figure(analysed: Sequence[Mapping[str, Any]], lang: Lang) -> go.Figure:
    """Each analysed trial's rate ratio with its interval on a log axis; the dashed line at 1 is no effect."""
    ratios = [t["analysis"]["rate_ratio"] for t in analysed]
    fig = go.Figure(
        go.Scatter(
            x=[r["estimate"] for r in ratios], y=[str(t["trial_id"]) for t in analysed], mode="markers",
            marker={"size": 10, "color": "#3182bd"}, name="rate ratio",
            error_x={"type": "data", "symmetric": False, "array": [r["upper"] - r["estimate"] for r in ratios],
                     "arrayminus": [r["estimate"] - r["lower"] for r in ratios]},
        )
    )  # fmt: skip
    fig.add_vline(x=1.0, line_dash="dash", line_color="#888")
    fig.update_layout(
        title="Rate ratio per veldproef (met interval)" if lang == "nl" else "Rate ratio per trial (with interval)",
        xaxis={"type": "log", "title": "rate ratio (interventie / controle)" if lang == "nl"
               else "rate ratio (intervention / control)"},
        yaxis={"autorange": "reversed"}, showlegend=False, margin={"t": 50, "b": 50},
    )  # fmt: skip
    return fig


def _trial(trial: Mapping[str, Any], lang: Lang) -> str:
    """One trial: what was tested, its power, its registration, and its result or that there is none yet."""
    nl = lang == "nl"
    esc = html.escape
    tid = esc(str(trial["trial_id"]))
    design = _DESIGNS.get(str(trial["design"]), (str(trial["design"]).replace("_", " "),) * 2)[0 if nl else 1]
    outcome = esc(category_label(str(trial["outcome"]), lang))
    what = []
    if trial.get("intervention"):
        kind = _KINDS.get(str(trial.get("intervention_kind")))
        extra = "" if kind is None else f" ({kind[0 if nl else 1]})"
        what.append(
            f"{'Interventie' if nl else 'Intervention'}: {esc(str(trial['intervention']))}{esc(extra)}."
        )
    power = number(100 * float(trial["stated_power"]), lang, 0)
    target = number(100 * float(trial["target_power"]), lang, 0)
    effect = number(float(trial["effect"]), lang)
    seq, sha = int(trial["registered_seq"]), esc(str(trial["sha256"]))
    if nl:
        what.append(
            f"Opzet: {esc(design)}, {int(trial['units'])} buurten, perioden {esc(str(trial['periods']))}; "
            f"primaire uitkomst: {outcome}. Ontworpen op run <code>{esc(str(trial['run_id']))}</code>."
        )
        powered = (
            f"<p><b>Onderscheidend vermogen.</b> Vooraf berekend: {power} % kans om een effect te vinden als "
            f"de interventie de meldingen brengt op {effect} keer wat zonder haar te verwachten is "
            f"(rate ratio {effect}); het doel was {target} %.</p>"
        )
        below = (
            f"<p class='warn'><b>Onder het doel.</b> Geregistreerd met {power} % onderscheidend vermogen, onder "
            f"het doel van {target} %: een uitkomst zonder aangetoond effect zegt weinig, want deze proef mist "
            "een echt effect gemakkelijk (toch geregistreerd met <code>--allow-underpowered</code>).</p>"
            if trial["below_target"]
            else ""
        )
        registered = (
            f"<p><b>Preregistratie.</b> Logregel {seq}, SHA-256 <code>{sha}</code>. Een toezichthouder "
            "controleert met <code>pulsetwin log verify</code> dat het logboek ongeschonden is, en met "
            f"<code>pulsetwin log show --json</code> dat regel {seq} deze vingerafdruk draagt.</p>"
        )
    else:
        what.append(
            f"Design: {esc(design)}, {int(trial['units'])} buurten, periods {esc(str(trial['periods']))}; "
            f"primary outcome: {outcome}. Designed on run <code>{esc(str(trial['run_id']))}</code>."
        )
        powered = (
            f"<p><b>Power.</b> Computed beforehand: the chance of finding an effect is {power} % if the "
            f"intervention brings incidents to {effect} times what is expected without it "
            f"(rate ratio {effect}); the target was {target} %.</p>"
        )
        below = (
            f"<p class='warn'><b>Below target.</b> Registered with {power} % power, below the {target} % target: "
            "a null result says little, since this trial easily misses a real effect (registered anyway with "
            "<code>--allow-underpowered</code>).</p>"
            if trial["below_target"]
            else ""
        )
        registered = (
            f"<p><b>Pre-registration.</b> Log record {seq}, SHA-256 <code>{sha}</code>. An oversight "
            "body checks with <code>pulsetwin log verify</code> that the log is unbroken, and with "
            f"<code>pulsetwin log show --json</code> that record {seq} carries this fingerprint.</p>"
        )
    version = f"{'versie' if nl else 'version'} {int(trial['version'])}"
    heading = f"{'Veldproef' if nl else 'Trial'} <code>{tid}</code> ({version})"
    tested = f"<p><b>{'Wat is getoetst' if nl else 'What was tested'}.</b> {' '.join(what)}</p>"
    result = _result(trial, lang)
    return f"<h3 id='trial-{tid}-{lang}'>{heading}</h3>{tested}{powered}{below}{registered}{result}"


def _result(trial: Mapping[str, Any], lang: Lang) -> str:
    """The pre-registered analysis in words, its logged sentence, displacement and every deviation."""
    nl = lang == "nl"
    analysis = trial["analysis"]
    head = f"<b>{'Resultaat' if nl else 'Result'}.</b>"
    if analysis is None:
        text = (
            "Geregistreerd, nog niet geanalyseerd: er is nog geen resultaat. Na de proefperiode: "
            if nl
            else "Registered, not analysed yet: there is no result. After the trial period: "
        )
        command = html.escape(f"pulsetwin trial analyse --trial {trial['trial_id']}")
        return f"<p class='warn'>{head} {text}<code>{command}</code></p>"
    seq = int(analysis["seq"])
    quoted = (
        f"De vooraf geregistreerde analyse (logregel {seq}, zoals gelogd, in het Engels)"
        if nl
        else f"The pre-registered analysis (log record {seq}, as logged)"
    )
    moved = f"<b>{'Aangrenzende buurten' if nl else 'Adjacent buurten'}:</b>"
    return (
        f"<p>{head} {html.escape(_effect(trial, lang))}</p>"
        f"<p>{quoted}: <q>{html.escape(str(analysis['sentence']))}</q></p>"
        f"<p>{moved} {html.escape(_displacement(analysis['displacement'], lang))}</p>"
        + _deviations([str(d) for d in analysis["deviations"]], lang)
    )


def _effect(trial: Mapping[str, Any], lang: Lang) -> str:
    """The rate ratio with its interval, as a change against control, and the randomisation test."""
    analysis = trial["analysis"]
    rr = analysis["rate_ratio"]
    estimate, level = float(rr["estimate"]), round(100 * float(rr["level"]))
    low, high = number(float(rr["lower"]), lang), number(float(rr["upper"]), lang)
    p, alpha = number(float(analysis["p_value"]), lang, 3), number(float(analysis["alpha"]), lang)
    shown = float(analysis["p_value"]) <= float(analysis["alpha"])
    outcome = category_label(str(trial["outcome"]), lang)
    change = round(abs(estimate - 1) * 100)
    if lang == "nl":
        way = "lager" if estimate < 1 else "hoger" if estimate > 1 else "gelijk"
        verdict = (
            f"aangetoond bij alfa {alpha}" if shown else f"niet aangetoond bij alfa {alpha}: kan toeval zijn"
        )
        return (
            f"Rate ratio {number(estimate, lang)} ({level}%-interval {low} tot {high}). {outcome}: {change} % "
            f"{way} met de interventie dan bij de controle, elk gemeten tegen de verwachting; randomisatie-p = "
            f"{p} ({verdict})."
        )
    way = "lower" if estimate < 1 else "higher" if estimate > 1 else "the same"
    verdict = f"shown at alpha {alpha}" if shown else f"not shown at alpha {alpha}: may be chance"
    return (
        f"Rate ratio {number(estimate, lang)} ({level} % interval {low} to {high}). {outcome}: {change} % {way} "
        f"with the intervention than under control, each measured against the forecast; randomisation p = {p} "
        f"({verdict})."
    )


def _deviations(deviations: list[str], lang: Lang) -> str:
    """Every deviation from the pre-registration as logged, or that there was none."""
    nl = lang == "nl"
    count = f"{'Afwijkingen van de preregistratie' if nl else 'Deviations from the pre-registration'}: "
    if not deviations:
        return f"<p class='ok'><b>{count}{'geen' if nl else 'none'}.</b></p>"
    note = " (zoals gelogd, in het Engels)" if nl else " (as logged)"
    items = "".join(f"<li>{html.escape(d)}</li>" for d in deviations)
    return f"<div class='warn'><b>{count}{len(deviations)}</b>{note}:<ul>{items}</ul></div>"


def _displacement(moved: Mapping[str, Any], lang: Lang) -> str:
    """Whether the effect moved to or spread over the adjacent buurten: the logged reading in English, the
    same cases in Dutch, with the randomisation p-value of the change next door where it was tested."""
    wdq, p, logged = moved.get("wdq"), moved.get("p_value"), str(moved.get("reading") or "not assessed")
    if lang == "en":
        tested = (
            "" if p is None else f"; randomisation p of the change next door = {number(float(p), lang, 3)}"
        )
        return f"{logged}{tested}."
    if wdq is None and p is None:
        return f"niet beoordeeld (reden zoals gelogd, in het Engels: {logged})."
    if wdq is None:
        reading = "niet te beoordelen, want de buurten met de interventie verbeterden niet ten opzichte van de controle"
    elif wdq > 0:
        reading = f"het effect straalde uit naar de buren (WDQ {number(float(wdq), lang)})"
    elif wdq < 0:
        reading = f"verplaatsing naar de buren (WDQ {number(float(wdq), lang)}; onder −1 meer dan de winst)"
    else:
        reading = "geen verandering (WDQ 0)"
    tested = (
        "" if p is None else f"; randomisatie-p van de verandering bij de buren = {number(float(p), lang, 3)}"
    )
    return f"{reading}{tested}."
