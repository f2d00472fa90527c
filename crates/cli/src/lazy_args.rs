//! [`Lazy`]: a command's arguments built only when that command is the one run.
//!
//! Why: clap's derive builds the whole command tree (every command, every argument, with
//! their help) on each call before it parses anything. With some forty commands that was
//! about 140 of the 200 page faults and a fifth of the CPU of a `procward queue add`, paid
//! again by every call a script makes. Wrapping each command's arguments in [`Lazy`] hands
//! them to [`clap::Command::defer`], so clap builds only the command it enters (help,
//! completions and `debug_assert` still build all of them).

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
        cmd.defer(T::augment_args)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(T::augment_args_for_update)
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
        let error = Cli::try_parse_from(["procward", "start", "--help"]).unwrap_err();
        let start_help = error.to_string();
        assert!(start_help.contains("Examples:"), "{start_help}");
        assert!(start_help.contains("--restart"), "{start_help}");
        // Bad input in a deferred command is still refused by clap.
        let error = Cli::try_parse_from(["procward", "queue", "add", "--priority", "x"]);
        assert!(error.is_err());
    }
}
