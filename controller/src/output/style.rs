//! Colours, only on a terminal and never when NO_COLOR is set.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

/// Paints text when colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    on: bool,
}

impl Painter {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    pub fn detect() -> Self {
        let on = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Painter { on }
    }

    /// No colour.
    pub fn plain() -> Self {
        Painter { on: false }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// Green.
    pub fn ok(&self, t: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), t)
    }
    /// Yellow.
    pub fn changed(&self, t: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), t)
    }
    /// Red, bold.
    pub fn failed(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default().bold(), t)
    }
    /// Dim.
    pub fn dim(&self, t: &str) -> String {
        self.paint(Style::new().dimmed(), t)
    }
    /// Bold.
    pub fn bold(&self, t: &str) -> String {
        self.paint(Style::new().bold(), t)
    }

    /// A unified diff, `+` green, `-` red, `@@` cyan, indented.
    pub fn diff(&self, text: &str, indent: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                self.bold(line)
            } else if line.starts_with('+') {
                self.paint(AnsiColor::Green.on_default(), line)
            } else if line.starts_with('-') {
                self.paint(AnsiColor::Red.on_default(), line)
            } else if line.starts_with("@@") {
                self.paint(AnsiColor::Cyan.on_default(), line)
            } else {
                line.to_owned()
            };
            out.push_str(indent);
            out.push_str(&styled);
            out.push('\n');
        }
        out
    }
}
