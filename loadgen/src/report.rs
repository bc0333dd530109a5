//! The report: one section per measurement, written as Markdown for people and JSON for tools.

use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// Whether a measurement met the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Missed,
    /// The figure is informative; there is no target to meet.
    Reported,
    /// The measurement could not run; `notes` say why.
    NotRun,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "target met",
            Verdict::Missed => "TARGET MISSED",
            Verdict::Reported => "reported",
            Verdict::NotRun => "NOT RUN",
        }
    }

    pub fn from_check(met: bool) -> Verdict {
        if met {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }
}

/// One measurement's results.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub target: String,
    pub verdict: Verdict,
    /// Label and value pairs shown as a table.
    pub rows: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// The raw figures.
    pub data: Value,
}

impl Section {
    pub fn new(id: &str, title: &str, target: &str) -> Section {
        Section {
            id: id.into(),
            title: title.into(),
            target: target.into(),
            verdict: Verdict::Reported,
            rows: Vec::new(),
            notes: Vec::new(),
            data: Value::Null,
        }
    }

    pub fn row(&mut self, label: impl Into<String>, value: impl Into<String>) {
        self.rows.push((label.into(), value.into()));
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// A section for a measurement that failed or could not start.
    pub fn not_run(id: &str, title: &str, target: &str, why: String) -> Section {
        let mut section = Section::new(id, title, target);
        section.verdict = Verdict::NotRun;
        section.note(why);
        section
    }
}

/// Where and how the report was made.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub file_limit: u64,
    pub command: String,
    pub started_at: String,
    pub configuration: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub sections: Vec<Section>,
}

impl Report {
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::from("# Rekindle service benchmarks\n\n");
        out +=
            &format!(
            "Command: `{}` ({} configuration), started {}.\n\nMachine: {} × {} cores, {:.1} GiB, \
             Linux {}, open-file limit {}. The load generator, the servers, PostgreSQL and \
             ImageMagick all share this machine.\n\n",
            m.command, m.configuration, m.started_at, m.cpu, m.cores, m.memory_gib, m.kernel,
            m.file_limit
        );
        out += "| measurement | target | result |\n| --- | --- | --- |\n";
        for section in &self.sections {
            out += &format!(
                "| {} | {} | {} |\n",
                section.title,
                section.target,
                section.verdict.label()
            );
        }
        for section in &self.sections {
            out += &format!(
                "\n## {}\n\nTarget: {}. Result: **{}**.\n\n",
                section.title,
                section.target,
                section.verdict.label()
            );
            if !section.rows.is_empty() {
                out += "| figure | value |\n| --- | --- |\n";
                for (label, value) in &section.rows {
                    out += &format!("| {label} | {value} |\n");
                }
                out += "\n";
            }
            for note in &section.notes {
                out += &format!("- {note}\n");
            }
        }
        out
    }
}
