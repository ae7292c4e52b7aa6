//! The report as a table for people and as one JSON document for scripts.

use std::fmt::{self, Write as _};

use super::{Report, Source};

fn opt<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl Report {
    /// The per-goods table, the violations and a verdict line.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        if self.drain.checked {
            let _ = writeln!(
                out,
                "drain: {} after {:.1} s (consumer lag {}, PENDING results {})",
                if self.drain.drained {
                    "drained"
                } else {
                    "NOT drained"
                },
                self.drain.waited_secs,
                self.drain.lag,
                self.drain.pending
            );
        } else {
            let _ = writeln!(out, "drain: not checked (no name server given)");
        }
        match &self.load_log {
            Some(log) => {
                let _ = writeln!(
                    out,
                    "load log: {} ({} records)",
                    log.path.display(),
                    log.records
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "load log: none (U = users MySQL and Redis know: a lower bound)"
                );
            }
        }
        let header = [
            "goods",
            "S",
            "U",
            "QUEUED seen",
            "orders",
            "MySQL stock",
            "Redis stock",
            "pending",
            "duplicates",
            "FAILED",
            "verdict",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        for g in &self.goods {
            let s_mark = if g.initial_stock_source == Source::Derived {
                "*"
            } else {
                ""
            };
            rows.push(vec![
                g.goods_id.to_string(),
                format!("{}{s_mark}", g.initial_stock),
                g.users.to_string(),
                opt(g.queued_answers),
                g.orders.to_string(),
                opt(g.mysql_stock),
                opt(g.redis_stock),
                g.pending.to_string(),
                g.duplicates.to_string(),
                g.failed.to_string(),
                if g.ok { "ok" } else { "VIOLATED" }.to_owned(),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, &w))| {
                    if c == row.len() - 1 {
                        cell.clone()
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  "));
        }
        if self
            .goods
            .iter()
            .any(|g| g.initial_stock_source == Source::Derived)
        {
            let _ = writeln!(
                out,
                "* S derived as MySQL stock + orders (give --initial-stock GOODS=S to check it too)"
            );
        }
        let unanswered: u64 = self.goods.iter().filter_map(|g| g.unanswered_users).sum();
        if unanswered > 0 {
            let _ = writeln!(
                out,
                "{unanswered} users in the load log never got a definite answer (only 503/errors); they are not in U"
            );
        }
        for v in &self.violations {
            let _ = writeln!(out, "{v}");
        }
        if self.ok {
            let _ = writeln!(out, "all invariants hold");
        } else {
            let _ = writeln!(out, "{} violation(s)", self.violations.len());
        }
        out
    }

    /// The whole report as one JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
