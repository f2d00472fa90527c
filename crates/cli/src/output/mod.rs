//! How results reach the user: JSON for programs, aligned tables for people, colour only
//! on a terminal.

pub mod format;
pub mod managed;
pub mod table;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

pub use table::{Align, Table, Tint};

/// When to colour output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print JSON instead of tables.
    pub json: bool,
    /// Use ANSI colours.
    pub colour: bool,
    /// Terminal width, when stdout is one.
    pub width: Option<usize>,
    /// Whether stdout is a terminal (JSON is indented for people, compact for programs).
    pub tty: bool,
}

impl Output {
    /// Decides from the flags and whether stdout is a terminal.
    pub fn new(json: bool, color: ColorChoice) -> Self {
        let tty = io::stdout().is_terminal();
        let colour = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
        };
        let width = if tty {
            rustix::termios::tcgetwinsize(io::stdout())
                .ok()
                .map(|w| usize::from(w.ws_col))
                .filter(|w| *w > 0)
        } else {
            None
        };
        Self {
            json,
            colour,
            width,
            tty,
        }
    }

    /// Prints `value` as one JSON document.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = buffered_stdout();
        if self.tty {
            serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
        } else {
            serde_json::to_writer(&mut out, value).map_err(io::Error::from)?;
        }
        writeln!(out)?;
        out.flush()
    }

    /// Prints a table.
    pub fn table(&self, table: &Table) -> io::Result<()> {
        let mut out = buffered_stdout();
        table.render(&mut out, self.width, self.colour)?;
        out.flush()
    }
}

/// Stdout for one whole document: std's stdout is line-buffered with a 1 KiB buffer, so
/// a 4 MB listing would otherwise take thousands of `write`s.
fn buffered_stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Treats a closed pipe (`procward ps | head`) as success, as `ps` does.
pub fn ignore_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
