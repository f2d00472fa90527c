//! Plain aligned tables in the style of `ps` and `ss`: no borders, colour applied after
//! padding so ANSI codes never break alignment, and the last column cut to the terminal.

use std::io::{self, Write};

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text columns.
    Left,
    /// Numbers.
    Right,
}

/// A terminal colour for one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tint {
    /// No colour.
    Plain,
    /// Good news (running, listening).
    Green,
    /// Worth a look (stopped, high usage).
    Yellow,
    /// Bad news (zombie, failed).
    Red,
    /// Secondary information.
    Dim,
}

impl Tint {
    /// The ANSI escape that starts this colour.
    pub fn code(self) -> &'static str {
        match self {
            Tint::Plain => "",
            Tint::Green => "\x1b[32m",
            Tint::Yellow => "\x1b[33m",
            Tint::Red => "\x1b[31m",
            Tint::Dim => "\x1b[2m",
        }
    }
}

/// A table being filled row by row.
pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<(String, Tint)>>,
    show_header: bool,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[(&'static str, Align)]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
            show_header: true,
        }
    }

    /// Leaves the header line out (for key/value summaries).
    pub fn without_header(mut self) -> Self {
        self.show_header = false;
        self
    }

    /// Adds a row of plain cells.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows
            .push(cells.into_iter().map(|c| (c.into(), Tint::Plain)).collect());
    }

    /// Adds a row whose cells carry their own colours.
    pub fn tinted_row(&mut self, cells: Vec<(String, Tint)>) {
        self.rows.push(cells);
    }

    /// Writes the table. `width` cuts the last column (as `ps` does on a terminal);
    /// `colour` turns on ANSI colours and a bold header.
    pub fn render(
        &self,
        out: &mut impl Write,
        width: Option<usize>,
        colour: bool,
    ) -> io::Result<()> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(h, _)| {
                if self.show_header {
                    h.chars().count()
                } else {
                    0
                }
            })
            .collect();
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let header: Vec<(String, Tint)> = self
            .headers
            .iter()
            .map(|(h, _)| ((*h).to_owned(), Tint::Plain))
            .collect();
        let skip = usize::from(!self.show_header);
        for (index, row) in std::iter::once(&header)
            .chain(&self.rows)
            .enumerate()
            .skip(skip)
        {
            let mut line = String::new();
            let mut visible = 0;
            for (i, (text, tint)) in row.iter().enumerate().take(columns) {
                let last = i + 1 == columns;
                let mut cell = pad(text, widths[i], self.headers[i].1, last);
                if last && let Some(width) = width {
                    cell = cell.chars().take(width.saturating_sub(visible)).collect();
                }
                visible += cell.chars().count() + 1;
                let style = if index == 0 && colour {
                    "\x1b[1m"
                } else if colour {
                    tint.code()
                } else {
                    ""
                };
                if style.is_empty() {
                    line.push_str(&cell);
                } else {
                    line.push_str(&format!("{style}{cell}\x1b[0m"));
                }
                if !last {
                    line.push(' ');
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

fn pad(text: &str, width: usize, align: Align, last: bool) -> String {
    match align {
        Align::Left if last => text.to_owned(),
        Align::Left => format!("{text:<width$}"),
        Align::Right => format!("{text:>width$}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_cuts_the_last_column() {
        let mut table = Table::new(&[("PID", Align::Right), ("COMMAND", Align::Left)]);
        table.row(["7", "sleep 1000 --with-a-long-tail"]);
        table.row(["12345", "sh"]);
        let mut out = Vec::new();
        table.render(&mut out, Some(16), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "  PID COMMAND\n    7 sleep 1000\n12345 sh\n");
    }

    #[test]
    fn colour_does_not_shift_columns() {
        let mut table = Table::new(&[("A", Align::Left), ("B", Align::Left)]);
        table.tinted_row(vec![("x".into(), Tint::Red), ("y".into(), Tint::Plain)]);
        let mut out = Vec::new();
        table.render(&mut out, None, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\x1b[31mx\x1b[0m y"), "{text:?}");
    }
}
