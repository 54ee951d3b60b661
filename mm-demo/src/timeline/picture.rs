//! The shutdown as a picture (`--timeline-svg`), drawn with the `svg` crate: time runs left
//! to right over the run's shutdown; its phases are bands across the picture, each component
//! whose stop ran is a bar on its own row (from its stop's begin to its end), coloured by
//! outcome, and a failure (a stop that failed, was forced, incomplete or abandoned, or still
//! ran when the trace ended) is red and marked with a cross and its outcome. Events of the
//! shutdown (a signal, an order cancelled) are ticks on the time axis.
//!
//! The shutdown drawn is the first one not nested in a resource's stop: the run's own
//! orchestrator's (the exchanges'), which begins before anything else shuts down.
//!
//! Elements carry what a program checks: `g.bar[data-component][data-outcome]`,
//! `rect.band[data-phase]`, `text.failure-mark`.

use svg::Document;
use svg::node::element::{Group, Line, Rectangle, Text, Title};

use super::recorded::{Recorded, Slice};

const WIDTH: f64 = 1100.0;
const LABELS: f64 = 300.0;
const RIGHT: f64 = 130.0;
const TOP: f64 = 64.0;
const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
const BAND_COLOURS: [&str; 2] = ["#eef3fb", "#f7f1e6"];

/// The picture of `recorded`'s shutdown.
pub(crate) fn draw(recorded: &Recorded) -> Document {
    let Some(shutdown) = run_shutdown(recorded) else {
        return Document::new()
            .set("viewBox", (0, 0, WIDTH, 60.0))
            .set("width", WIDTH)
            .set("height", 60)
            .add(text(20.0, 34.0, "no shutdown was recorded", "title"));
    };
    let trace_end = recorded.end_us;
    let (from, to) = (shutdown.begin_us, shutdown.end_or(trace_end));
    let span = (to - from).max(1.0);
    let chart = WIDTH - LABELS - RIGHT;
    let x = |us: f64| LABELS + (us.clamp(from, to) - from) / span * chart;
    let system = shutdown.component();
    let within = |slice: &&Slice| slice.begin_us >= from && slice.begin_us <= to;

    let phases: Vec<&Slice> = recorded
        .slices
        .iter()
        .filter(|s| s.name == "phase" && s.component() == system && s.text("op") == Some("stop"))
        .filter(within)
        .collect();
    // One row per component, in the order their stops began.
    let mut rows: Vec<(&str, Vec<&Slice>)> = Vec::new();
    for stop in recorded
        .slices
        .iter()
        .filter(|s| s.name == "resource" && s.text("op") == Some("stop"))
        .filter(within)
    {
        match rows.iter_mut().find(|(name, _)| *name == stop.component()) {
            Some((_, bars)) => bars.push(stop),
            None => rows.push((stop.component(), vec![stop])),
        }
    }
    let height = TOP + ROW * rows.len().max(1) as f64 + 40.0;

    let title = format!(
        "shutdown of {system}: {} in {:.1} ms ({} components, {} phases)",
        shutdown.outcome(),
        (to - from) / 1e3,
        rows.len(),
        phases.len()
    );
    let mut document = Document::new()
        .set("viewBox", (0, 0, WIDTH, height))
        .set("width", WIDTH)
        .set("height", height)
        .set("font-family", "sans-serif")
        .set("font-size", 12)
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(text(10.0, 20.0, &title, "title").set("font-size", 15));

    for (index, phase) in phases.iter().enumerate() {
        let (left, right) = (x(phase.begin_us), x(phase.end_or(trace_end)));
        let priority = phase.text("priority").unwrap_or_default();
        let mut band = Group::new().add(
            Rectangle::new()
                .set("class", "band")
                .set("data-phase", priority)
                .set("data-outcome", phase.outcome())
                .set("x", left)
                .set("y", TOP - 18.0)
                .set("width", (right - left).max(1.0))
                .set("height", height - TOP - 12.0)
                .set("fill", BAND_COLOURS[index % 2])
                .add(Title::new(format!(
                    "phase {priority}: {}, {:.1} ms",
                    phase.outcome(),
                    duration_ms(phase, trace_end)
                ))),
        );
        band = band.add(
            text(left + 3.0, TOP - 6.0, priority, "band-label")
                .set("font-size", 10)
                .set("fill", "#555"),
        );
        document = document.add(band);
    }

    for (row, (component, bars)) in rows.iter().enumerate() {
        let top = TOP + ROW * row as f64;
        let mut group = Group::new()
            .set("class", "bar")
            .set("data-component", *component)
            .set("data-outcome", worst(bars))
            .add(text(10.0, top + BAR - 2.0, component, "component"));
        for stop in bars {
            let (left, right) = (x(stop.begin_us), x(stop.end_or(trace_end)));
            let failed = stop.failed();
            let took = duration_ms(stop, trace_end);
            group = group.add(
                Rectangle::new()
                    .set("class", if failed { "stop failure" } else { "stop" })
                    .set("data-duration-ms", format!("{took:.3}"))
                    .set("x", left)
                    .set("y", top + (ROW - BAR) / 2.0 - 4.0)
                    .set("width", (right - left).max(2.0))
                    .set("height", BAR)
                    .set("rx", 2)
                    .set("fill", colour(stop.outcome()))
                    .add(Title::new(format!(
                        "{component}: {}, {took:.1} ms",
                        stop.outcome()
                    ))),
            );
            let said = if failed {
                format!("✗ {} {took:.1} ms", stop.outcome())
            } else {
                format!("{took:.1} ms")
            };
            let mut label = text(right + 4.0, top + BAR - 2.0, &said, "duration");
            if failed {
                label = label
                    .set("class", "failure-mark")
                    .set("fill", "#b71c1c")
                    .set("font-weight", "bold");
            }
            group = group.add(label);
        }
        document = document.add(group);
    }

    // The time axis, with a tick every "nice" step, and the shutdown's events.
    let axis_y = TOP + ROW * rows.len().max(1) as f64 + 4.0;
    document = document.add(
        Line::new()
            .set("x1", LABELS)
            .set("x2", LABELS + chart)
            .set("y1", axis_y)
            .set("y2", axis_y)
            .set("stroke", "#333"),
    );
    let step = nice_step((to - from) / 1e3 / 8.0);
    let mut at = 0.0;
    while at <= (to - from) / 1e3 + 1e-9 {
        let tick = x(from + at * 1e3);
        document = document
            .add(
                Line::new()
                    .set("x1", tick)
                    .set("x2", tick)
                    .set("y1", axis_y)
                    .set("y2", axis_y + 5.0)
                    .set("stroke", "#333"),
            )
            .add(
                text(tick, axis_y + 18.0, &format!("{at:.0} ms"), "tick")
                    .set("text-anchor", "middle")
                    .set("font-size", 10),
            );
        at += step;
    }
    for mark in recorded
        .marks
        .iter()
        .filter(|m| m.at_us >= from && m.at_us <= to)
    {
        let at = x(mark.at_us);
        document = document.add(
            Line::new()
                .set("class", "event")
                .set("data-event", mark.name.as_str())
                .set("x1", at)
                .set("x2", at)
                .set("y1", TOP - 18.0)
                .set("y2", axis_y)
                .set("stroke", "#7b1fa2")
                .set("stroke-dasharray", "2,3")
                .add(Title::new(format!(
                    "{} {}",
                    mark.name,
                    mark.component().unwrap_or_default()
                ))),
        );
    }
    document
}

/// The run's shutdown: the first `shutdown` span not inside a resource's stop.
fn run_shutdown(recorded: &Recorded) -> Option<&Slice> {
    let stops: Vec<&Slice> = recorded
        .slices
        .iter()
        .filter(|s| s.name == "resource")
        .collect();
    recorded.slices.iter().find(|shutdown| {
        shutdown.name == "shutdown"
            && !stops.iter().any(|stop| {
                stop.begin_us <= shutdown.begin_us
                    && stop.end_or(recorded.end_us) >= shutdown.end_or(recorded.end_us)
            })
    })
}

/// The span's `duration_ms` as measured by lifecycle-core, or its length in the trace.
fn duration_ms(slice: &Slice, trace_end: f64) -> f64 {
    slice
        .fields
        .get("duration_ms")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or((slice.end_or(trace_end) - slice.begin_us) / 1e3)
}

/// The worst outcome of a row's stops (a failure if any).
fn worst<'a>(bars: &[&'a Slice]) -> &'a str {
    bars.iter()
        .find(|bar| bar.failed())
        .or(bars.first())
        .map_or("", |bar| bar.outcome())
}

fn colour(outcome: &str) -> &'static str {
    match outcome {
        "clean" => "#43a047",
        "forced" => "#fb8c00",
        _ => "#e53935",
    }
}

/// 1, 2 or 5 times a power of ten, at least `rough` (milliseconds).
fn nice_step(rough: f64) -> f64 {
    let rough = rough.max(0.001);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

fn text(x: f64, y: f64, content: &str, class: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("class", class)
}

#[cfg(test)]
mod tests {
    use super::{draw, nice_step};
    use crate::timeline::recorded::Recorded;

    #[test]
    fn phases_are_bands_components_bars_and_failures_marked() {
        let raw = br#"[
            {"ph":"b","ts":0.0,"name":"shutdown","id":1,"args":{"component":"\"mexc\""}},
            {"ph":"b","ts":0.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"critical_first\""}},
            {"ph":"b","ts":10.0,"name":"resource","id":1,"args":{"component":"\"orders\"","op":"\"stop\""}},
            {"ph":"e","ts":900.0,"name":"resource","id":1,"args":{"component":"\"orders\"","op":"\"stop\"","outcome":"\"failed\"","duration_ms":"0.89"}},
            {"ph":"e","ts":1000.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"critical_first\"","outcome":"\"failed\""}},
            {"ph":"b","ts":1000.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"cleanup\""}},
            {"ph":"b","ts":1001.0,"name":"resource","id":1,"args":{"component":"\"rest\"","op":"\"stop\""}},
            {"ph":"e","ts":1500.0,"name":"resource","id":1,"args":{"component":"\"rest\"","op":"\"stop\"","outcome":"\"clean\""}},
            {"ph":"e","ts":1600.0,"name":"phase","id":1,"args":{"component":"\"mexc\"","op":"\"stop\"","priority":"\"cleanup\"","outcome":"\"clean\""}},
            {"ph":"e","ts":1600.0,"name":"shutdown","id":1,"args":{"component":"\"mexc\"","outcome":"\"failed\""}}
        ]"#;
        let svg = draw(&Recorded::parse(raw).unwrap()).to_string();
        let tree = roxmltree::Document::parse(&svg).unwrap();
        let class = |node: &roxmltree::Node<'_, '_>, name: &str| {
            node.attribute("class")
                .is_some_and(|c| c.split(' ').any(|c| c == name))
        };
        let bars: Vec<_> = tree.descendants().filter(|n| class(n, "bar")).collect();
        let names: Vec<_> = bars
            .iter()
            .filter_map(|b| b.attribute("data-component"))
            .collect();
        assert_eq!(names, ["orders", "rest"]);
        let bands: Vec<_> = tree
            .descendants()
            .filter(|n| class(n, "band"))
            .filter_map(|n| n.attribute("data-phase"))
            .collect();
        assert_eq!(bands, ["critical_first", "cleanup"]);
        let marks: Vec<_> = tree
            .descendants()
            .filter(|n| class(n, "failure-mark"))
            .collect();
        assert_eq!(marks.len(), 1);
        assert!(
            marks[0]
                .ancestors()
                .any(|a| a.attribute("data-component") == Some("orders"))
        );
        assert!(marks[0].text().unwrap().contains("failed"));
    }

    #[test]
    fn without_a_shutdown_the_picture_says_so() {
        let svg = draw(&Recorded::default()).to_string();
        assert!(roxmltree::Document::parse(&svg).is_ok());
        assert!(svg.contains("no shutdown was recorded"));
    }

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.5), 2.0);
        assert_eq!(nice_step(30.0), 50.0);
        assert_eq!(nice_step(0.0), 0.001);
    }
}
