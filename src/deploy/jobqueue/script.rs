//! Assembling a job script from its parts: shebang, directive block (generated lines minus the
//! skip list, then the user's extra lines), setup, environment, prologue, worker launch,
//! epilogue.
//!
//! Every system's renderer builds its generated directives and hands them here; this module
//! must not know any system's directive syntax beyond the prefix it is given.

use super::shell_quote::quote;
use super::spec::JobSpec;

/// The directive block: `generated` lines (each prefixed with `prefix` and a space) that contain
/// none of `spec.directives_skip`, then `spec.extra_directives` (prefixed unless they already
/// start with `#`).
///
/// ```
/// use tessera::deploy::jobqueue::{script::directive_block, JobSpec};
/// let spec = JobSpec {
///     directives_skip: vec!["--mem".into()],
///     extra_directives: vec!["--gres=gpu:1".into(), "#SBATCH --exclusive".into()],
///     ..JobSpec::default()
/// };
/// let block = directive_block("#SBATCH", vec!["-J w".into(), "--mem=10M".into()], &spec);
/// assert_eq!(block, ["#SBATCH -J w", "#SBATCH --gres=gpu:1", "#SBATCH --exclusive"]);
/// ```
pub fn directive_block(prefix: &str, generated: Vec<String>, spec: &JobSpec) -> Vec<String> {
    let prefixed = |line: &str| {
        if prefix.is_empty() {
            line.to_owned()
        } else {
            format!("{prefix} {line}")
        }
    };
    let mut block: Vec<String> = generated
        .iter()
        .map(|line| prefixed(line))
        .filter(|line| !spec.directives_skip.iter().any(|skip| line.contains(skip)))
        .collect();
    for extra in &spec.extra_directives {
        if extra.starts_with('#') || prefix.is_empty() {
            block.push(extra.clone());
        } else {
            block.push(prefixed(extra));
        }
    }
    block
}

/// The whole script text: shebang, `directives`, a blank line, `setup`, environment exports,
/// prologue, `launch`, epilogue, ending with a newline.
pub fn assemble(
    spec: &JobSpec,
    directives: &[String],
    setup: &[String],
    launch: &[String],
) -> String {
    let mut lines: Vec<String> = vec![spec.shebang.clone()];
    lines.extend(directives.iter().cloned());
    lines.push(String::new());
    lines.extend(setup.iter().cloned());
    lines.extend(
        spec.environment
            .iter()
            .map(|(name, value)| format!("export {name}={}", quote(value))),
    );
    lines.extend(spec.prologue.iter().cloned());
    lines.extend(launch.iter().cloned());
    lines.extend(spec.epilogue.iter().cloned());
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_appear_in_order() {
        let spec = JobSpec {
            environment: vec![("OMP_NUM_THREADS".into(), "1".into())],
            prologue: vec!["module load tessera".into()],
            epilogue: vec!["echo done".into()],
            ..JobSpec::default()
        };
        let text = assemble(&spec, &["#X -a".into()], &["cd /w".into()], &["run".into()]);
        assert_eq!(
            text,
            "#!/usr/bin/env bash\n#X -a\n\ncd /w\nexport OMP_NUM_THREADS=1\n\
             module load tessera\nrun\necho done\n"
        );
    }
}
