//! The SVG chart of a run (plotters, SVG backend only: text is left to the viewer's fonts, so
//! nothing needs font or bitmap libraries). Top row: throughput per scenario; bottom row:
//! latency p99 per scenario; one bar per system, log scale, same colour per system.

use plotters::prelude::*;

use super::report::{Metric, Results};

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 820;
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(125, 185, 230),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

/// A bar chart panel: title, axis unit, bars (system index, value).
struct Panel {
    title: String,
    unit: &'static str,
    bars: Vec<(usize, f64)>,
}

/// Renders the run's chart as an SVG document.
pub fn svg(results: &Results) -> Result<String, String> {
    let systems: Vec<&str> = results
        .systems
        .iter()
        .filter(|s| s.skipped.is_none())
        .map(|s| s.name.as_str())
        .collect();
    let bars = |scenario: &str, metric: Metric| -> Vec<(usize, f64)> {
        systems
            .iter()
            .enumerate()
            .filter_map(|(i, s)| results.value(s, scenario, metric).map(|v| (i, v)))
            .collect()
    };
    let mut top = Vec::new();
    let mut bottom = Vec::new();
    for scenario in results.scenarios("produce") {
        top.push(Panel {
            title: scenario.clone(),
            unit: "msgs/s",
            bars: bars(&scenario, Metric::Produced),
        });
        if scenario.ends_with("inflight=1") {
            bottom.push(Panel {
                title: format!("{scenario}: ack p99"),
                unit: "µs",
                bars: bars(&scenario, Metric::AckP99),
            });
        }
    }
    for scenario in results.scenarios("consume") {
        top.push(Panel {
            title: scenario.clone(),
            unit: "msgs/s",
            bars: bars(&scenario, Metric::Consumed),
        });
    }
    for scenario in results.scenarios("e2e") {
        bottom.push(Panel {
            title: format!("{scenario}: p99"),
            unit: "µs",
            bars: bars(&scenario, Metric::E2eP99),
        });
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(
                "mq-compare: throughput (higher is better) and p99 latency (lower is better), log scale",
                ("sans-serif", 20),
            )
            .map_err(|e| e.to_string())?;
        let (charts, legend) = root.split_vertically(HEIGHT - 80);
        let (upper, lower) = charts.split_vertically((HEIGHT - 80) / 2);
        for (area, panels) in [(upper, &top), (lower, &bottom)] {
            if panels.is_empty() {
                continue;
            }
            for (cell, panel) in area.split_evenly((1, panels.len())).iter().zip(panels) {
                draw_panel(cell, panel, systems.len())?;
            }
        }
        for (i, name) in systems.iter().enumerate() {
            let x = 40 + i32::try_from(i).unwrap_or(0) * 230;
            let colour = COLOURS[i % COLOURS.len()];
            legend
                .draw(&Rectangle::new([(x, 20), (x + 18, 38)], colour.filled()))
                .map_err(|e| e.to_string())?;
            legend
                .draw(&Text::new(
                    (*name).to_owned(),
                    (x + 26, 22),
                    ("sans-serif", 16),
                ))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    systems: usize,
) -> Result<(), String> {
    let max = panel.bars.iter().map(|b| b.1).fold(1.0_f64, f64::max);
    let min = panel
        .bars
        .iter()
        .map(|b| b.1)
        .fold(f64::INFINITY, f64::min)
        .min(max);
    let lo = 10f64.powf((min.max(1.0) / 2.0).log10().floor());
    let hi = 10f64.powf((max * 2.0).log10().ceil());
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 14))
        .margin(10)
        .x_label_area_size(8)
        .y_label_area_size(62)
        .build_cartesian_2d(0f64..systems.max(1) as f64, (lo..hi).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(panel.unit)
        .y_label_formatter(&|v| super::report::fmt_count(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(panel.bars.iter().map(|&(i, v)| {
            let x = i as f64;
            Rectangle::new(
                [(x + 0.12, lo), (x + 0.88, v.max(lo))],
                COLOURS[i % COLOURS.len()].filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::report::{Figure, Role, System};

    #[test]
    fn renders_an_svg_with_a_bar_per_measured_system() -> Result<(), String> {
        let system = |name: &str, role| System {
            name: name.into(),
            role,
            durability: String::new(),
            skipped: None,
        };
        let fig = |system: &str, scenario: &str, metric, value| Figure {
            system: system.into(),
            scenario: scenario.into(),
            metric,
            value,
        };
        let results = Results {
            systems: vec![
                system("a", Role::MqCore),
                system("b", Role::Peer { persistent: true }),
            ],
            figures: vec![
                fig("a", "produce 1KiB inflight=1", Metric::Produced, 9_000.0),
                fig("b", "produce 1KiB inflight=1", Metric::Produced, 11_000.0),
                fig("a", "produce 1KiB inflight=1", Metric::AckP99, 160.0),
                fig("b", "e2e 1KiB rate=1000/s", Metric::E2eP99, 900.0),
            ],
            ..Default::default()
        };
        let svg = svg(&results)?;
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("produce 1KiB inflight=1"));
        assert!(svg.matches("<rect").count() >= 4);
        Ok(())
    }
}
