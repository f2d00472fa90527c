//! [`Lazy`]: a command's arguments built only when that command is the one run.
//!
//! Why: clap's derive builds the whole command tree (every command, every argument, with
//! their help) on each call before it parses anything. With some forty commands that was
//! half the page faults of `procward --version` and a third of the client's CPU in a
//! `procward queue add` (bench/RESULTS.md, "Issue 11, fourth pass"), paid again by every
//! call a script makes. Wrapping each command's arguments in [`Lazy`] hands
//! them to [`clap::Command::defer`], so clap builds only the command it enters (help,
//! completions and `debug_assert` still build all of them).

use std::cell::Cell;
use std::ops::Deref;

use clap::{ArgMatches, Args, Command, Error, FromArgMatches};

/// `T`'s arguments, added to their command only when clap builds that command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lazy<T>(pub T);

impl<T> Lazy<T> {
    /// The parsed arguments.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, Error> {
        T::from_arg_matches(matches).map(Self)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, Error> {
        T::from_arg_matches_mut(matches).map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(cmd: Command) -> Command {
        if EAGER.get() {
            return T::augment_args(cmd);
        }
        cmd.defer(build::<T>)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        if EAGER.get() {
            return T::augment_args_for_update(cmd);
        }
        cmd.defer(build_for_update::<T>)
    }
}

thread_local! {
    /// Set by [`eager`]: build every command at once, as clap would without [`Lazy`]. Per
    /// thread: the CLI parses on its main thread, and tests run side by side.
    static EAGER: Cell<bool> = const { Cell::new(false) };
}

/// From now on (on this thread), command trees are built whole: for shell completions, whose generator
/// copies the tree of `help <command> <subcommand>` before it builds each command, so a
/// deferred command's subcommands would be missing from it.
pub fn eager() {
    EAGER.set(true);
}

/// The deferred part: `T`'s arguments, keeping the summary the command's own variant gave
/// it. Without deferral the derive applies the variant's doc comment after `T`'s; a
/// deferred `T` comes last, so its struct doc would otherwise replace it.
fn build<T: Args>(cmd: Command) -> Command {
    keep_summary(cmd, T::augment_args)
}

/// [`build`] for `augment_args_for_update`.
fn build_for_update<T: Args>(cmd: Command) -> Command {
    keep_summary(cmd, T::augment_args_for_update)
}

fn keep_summary(cmd: Command, augment: fn(Command) -> Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let Some(about) = about else {
        return cmd;
    };
    let cmd = cmd.about(about);
    match long_about {
        Some(long_about) => cmd.long_about(long_about),
        None => cmd.long_about(None::<&'static str>),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::cli::{Cli, Command};

    #[test]
    fn the_whole_tree_still_builds_and_checks() {
        // Builds every deferred command, as help and completions do.
        Cli::command().debug_assert();
    }

    #[test]
    fn only_the_entered_command_is_parsed_and_its_arguments_arrive() {
        let cli = Cli::try_parse_from([
            "procward",
            "queue",
            "add",
            "--group",
            "gpu",
            "--priority",
            "5",
            "--",
            "true",
        ])
        .unwrap();
        let Command::Queue(queue) = cli.command else {
            panic!("not the queue command");
        };
        let parsed = format!("{:?}", queue.into_inner());
        assert!(parsed.contains("Add(Lazy(JobArgs {"), "{parsed}");
        assert!(parsed.contains("group: Some(\"gpu\")"), "{parsed}");
        assert!(parsed.contains("priority: Some(5)"), "{parsed}");
        assert!(parsed.contains("argv: [\"true\"]"), "{parsed}");
    }

    #[test]
    fn help_keeps_every_summary_and_each_command_its_own_help() {
        let top = Cli::command().render_help().to_string();
        assert!(top.contains("The job queue: add, list, show"), "{top}");
        assert!(top.contains("Run a command as a queued job"), "{top}");
        let queue = Cli::try_parse_from(["procward", "queue", "--help"]).unwrap_err();
        let queue = queue.to_string();
        assert!(queue.starts_with("The job queue: add, list"), "{queue}");
        assert!(queue.contains("Queue a job; prints its id"), "{queue}");
        let add = Cli::try_parse_from(["procward", "queue", "add", "--help"]).unwrap_err();
        let add = add.to_string();
        assert!(add.starts_with("Queue a job; prints its id"), "{add}");
        let error = Cli::try_parse_from(["procward", "start", "--help"]).unwrap_err();
        let start_help = error.to_string();
        assert!(start_help.contains("Examples:"), "{start_help}");
        assert!(start_help.contains("--restart"), "{start_help}");
        // Bad input in a deferred command is still refused by clap.
        let error = Cli::try_parse_from(["procward", "queue", "add", "--priority", "x"]);
        assert!(error.is_err());
    }

    #[test]
    fn completions_cover_the_help_tree_of_every_command() {
        super::eager();
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "procward",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        assert!(
            script.contains("procward__subcmd__help__subcmd__queue__subcmd__add"),
            "help queue add is missing from the completions"
        );
        assert!(
            script.contains("--after-any"),
            "queue add's flags are missing"
        );
    }
}
