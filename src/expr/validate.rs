//! Validation of a parsed [`Program`] against the function catalogue: every name is bound
//! before use, every called function, method and attribute exists, keyword arguments name real
//! parameters, no parameter is given twice, and positional counts fit the signature. Each
//! mistake becomes an [`ExprError`] with a "did you mean" suggestion where one is close.
//!
//! It checks names and call shapes only; it must not evaluate, infer types or touch files.

use super::ast::{CallArgs, Expr, ExprKind, Ident, IndexItem, Program, Span};
use super::diagnostic::{line_column, ErrorKind, ExprError};
use super::functions::{
    function_names, lookup_alias, lookup_attribute, lookup_function, method_names, FunctionSpec,
};
use super::suggest::{did_you_mean, quoted_list};

/// Module prefixes people carry over from Python (`np.sum(x)`).
const MODULE_PREFIXES: &[&str] = &["np", "numpy", "da", "dask", "xr", "math"];

/// Check `program` with `predefined` names already bound (e.g. inputs given on the command
/// line). `src` is the program text, used only to say on which line something is bound.
pub fn validate_program(
    program: &Program,
    predefined: &[&str],
    src: &str,
) -> Result<(), ExprError> {
    let all_bindings: Vec<&Ident> = program.bindings.iter().map(|b| &b.name).collect();
    let mut scope = Scope {
        bound: predefined.iter().map(|s| s.to_string()).collect(),
        all_bindings,
        src,
    };
    for binding in &program.bindings {
        scope.check(&binding.value)?;
        if !scope.bound.contains(&binding.name.name) {
            scope.bound.push(binding.name.name.clone());
        }
    }
    scope.check(&program.result)
}

struct Scope<'a> {
    /// Names bound so far, in binding order.
    bound: Vec<String>,
    /// Every binding in the program, to tell "bound later" from "never bound".
    all_bindings: Vec<&'a Ident>,
    src: &'a str,
}

impl Scope<'_> {
    /// Check `expr` and everything under it. Each kind is checked in its own function so
    /// this recursive frame stays small (deep trees recurse through it once per level).
    fn check(&self, expr: &Expr) -> Result<(), ExprError> {
        match &expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::None => Ok(()),
            ExprKind::Name(name) => self.check_name(name, expr.span),
            ExprKind::Tuple(items) | ExprKind::List(items) => self.check_all(items),
            ExprKind::Unary { operand, .. } => self.check(operand),
            ExprKind::Binary { lhs, rhs, .. } => self.check_pair(lhs, rhs),
            ExprKind::Call { function, args } => {
                self.check_function_call(function, args, expr.span)
            }
            ExprKind::MethodCall {
                receiver,
                method,
                args,
            } => self.check_method_call(receiver, method, args, expr.span),
            ExprKind::Attribute { value, attr } => self.check_attribute_read(value, attr),
            ExprKind::Index { value, items } => self.check_index(value, items),
        }
    }

    fn check_all(&self, items: &[Expr]) -> Result<(), ExprError> {
        items.iter().try_for_each(|item| self.check(item))
    }

    fn check_pair(&self, lhs: &Expr, rhs: &Expr) -> Result<(), ExprError> {
        self.check(lhs)?;
        self.check(rhs)
    }

    fn check_function_call(
        &self,
        function: &Ident,
        args: &CallArgs,
        span: Span,
    ) -> Result<(), ExprError> {
        let spec = self.function(function)?;
        self.check_args(args)?;
        check_call(spec, args, false, span)
    }

    fn check_method_call(
        &self,
        receiver: &Expr,
        method: &Ident,
        args: &CallArgs,
        span: Span,
    ) -> Result<(), ExprError> {
        self.check_receiver(receiver, method)?;
        let spec = method_spec(method)?;
        self.check_args(args)?;
        check_call(spec, args, true, span)
    }

    fn check_attribute_read(&self, value: &Expr, attr: &Ident) -> Result<(), ExprError> {
        self.check_receiver(value, attr)?;
        check_attribute(attr)
    }

    fn check_index(&self, value: &Expr, items: &[IndexItem]) -> Result<(), ExprError> {
        self.check(value)?;
        for item in items {
            match item {
                IndexItem::Expr(e) => self.check(e)?,
                IndexItem::Slice {
                    start, stop, step, ..
                } => {
                    for part in [start, stop, step].into_iter().flatten() {
                        self.check(part)?;
                    }
                }
                IndexItem::Ellipsis(_) => {}
            }
        }
        Ok(())
    }

    fn check_args(&self, args: &CallArgs) -> Result<(), ExprError> {
        args.positional.iter().try_for_each(|a| self.check(a))?;
        args.keywords.iter().try_for_each(|k| self.check(&k.value))
    }

    /// `np.sum(x)`: explain that there is no module prefix before complaining about `np`.
    fn check_receiver(&self, receiver: &Expr, member: &Ident) -> Result<(), ExprError> {
        if let ExprKind::Name(name) = &receiver.kind {
            if MODULE_PREFIXES.contains(&name.as_str()) && !self.bound.contains(name) {
                return Err(ExprError::new(
                    ErrorKind::UnknownName,
                    receiver.span,
                    format!("unknown name \"{name}\""),
                )
                .with_label("no module prefix is needed")
                .with_help(format!(
                    "functions are called directly: write {}(...), not {name}.{}(...)",
                    member.name, member.name
                )));
            }
        }
        self.check(receiver)
    }

    fn check_name(&self, name: &str, span: Span) -> Result<(), ExprError> {
        if self.bound.iter().any(|b| b == name) {
            return Ok(());
        }
        // NumPy's constants, unless the program binds the name later (then it is an error
        // to use it before, as for any name).
        if crate::expr::constant(name).is_some()
            && !self.all_bindings.iter().any(|b| b.name == name)
        {
            return Ok(());
        }
        let error = |message: String| ExprError::new(ErrorKind::UnknownName, span, message);
        if let Some(later) = self.all_bindings.iter().find(|b| b.name == name) {
            let (line, column) = line_column(self.src, later.span.start);
            return Err(error(format!("\"{name}\" is used before it is bound"))
                .with_label("used here")
                .with_help(format!(
                    "it is bound on line {line}, column {column}; move that binding above this use"
                )));
        }
        if let Some(spec) = lookup_function(name) {
            return Err(error(format!("\"{name}\" is a function, not a value"))
                .with_label("function name")
                .with_help(format!("call it: {}", spec.signature())));
        }
        let suggestion = did_you_mean(name, self.bound.iter().map(String::as_str));
        let help = if self.bound.is_empty() {
            "no names are bound; bind one first, e.g. t = h5(\"data.h5\", \"/temperature\")"
                .to_string()
        } else {
            format!("bound names: {}", self.bound.join(", "))
        };
        Err(error(format!("unknown name \"{name}\"{suggestion}"))
            .with_label("not bound")
            .with_help(help))
    }

    fn function(&self, function: &Ident) -> Result<&'static FunctionSpec, ExprError> {
        if let Some(spec) = lookup_function(&function.name) {
            return Ok(spec);
        }
        let name = &function.name;
        let error = |message: String| {
            ExprError::new(ErrorKind::UnknownFunction, function.span, message)
                .with_label("not a known function")
        };
        if self.bound.contains(name) {
            return Err(error(format!("\"{name}\" is a variable, not a function"))
                .with_help("index it with [ ] or call one of its methods, e.g. x.sum()"));
        }
        if lookup_attribute(name).is_some() {
            return Err(error(format!("\"{name}\" is an attribute, not a function"))
                .with_help(format!("write x.{name}")));
        }
        if let Some(alias) = lookup_alias(name) {
            let tail = alias
                .use_function
                .map(|f| format!("; did you mean \"{f}\"?"))
                .unwrap_or_default();
            return Err(error(format!("unknown function \"{name}\"{tail}")).with_help(alias.advice));
        }
        Err(error(format!(
            "unknown function \"{name}\"{}",
            did_you_mean(name, function_names())
        ))
        .with_help("docs/eval.md lists the functions"))
    }
}

fn method_spec(method: &Ident) -> Result<&'static FunctionSpec, ExprError> {
    let name = &method.name;
    let error = |message: String| {
        ExprError::new(ErrorKind::UnknownMethod, method.span, message).with_label("not a method")
    };
    match lookup_function(name) {
        Some(spec) if spec.method => Ok(spec),
        Some(spec) => Err(error(format!("{name}() cannot be called as a method"))
            .with_help(format!("call it as a function: {}", spec.signature()))),
        None if lookup_attribute(name).is_some() => {
            Err(error(format!("\"{name}\" is an attribute, not a method"))
                .with_help(format!("drop the parentheses: x.{name}")))
        }
        None => {
            let candidates: Vec<&str> = method_names().collect();
            Err(error(format!(
                "unknown method \"{name}\"{}",
                did_you_mean(name, candidates.iter().copied())
            ))
            .with_help(format!("methods are: {}", candidates.join(", "))))
        }
    }
}

fn check_attribute(attr: &Ident) -> Result<(), ExprError> {
    let name = &attr.name;
    if let Some(spec) = lookup_function(name) {
        let call = if spec.method {
            format!("x.{name}()")
        } else {
            format!("{name}(x)")
        };
        return Err(ExprError::new(
            ErrorKind::UnknownAttribute,
            attr.span,
            format!("\"{name}\" is a function, not an attribute"),
        )
        .with_label("not an attribute")
        .with_help(format!("call it: {call}")));
    }
    // Any other name may be a coordinate of a labeled array (`x.lat`): the evaluator knows.
    Ok(())
}

/// Match the arguments of a call to `spec`'s parameters. For methods the receiver fills the
/// first parameter.
fn check_call(
    spec: &FunctionSpec,
    args: &CallArgs,
    is_method: bool,
    call_span: Span,
) -> Result<(), ExprError> {
    let receiver = usize::from(is_method);
    let shown = if is_method {
        format!(".{}()", spec.name)
    } else {
        format!("{}()", spec.name)
    };
    let params = &spec.params[receiver.min(spec.params.len())..];
    let max_positional = spec.max_positional().saturating_sub(receiver);

    if let Some(extra) = args.positional.get(max_positional) {
        let positional_names: Vec<&str> = params
            .iter()
            .filter(|p| !p.keyword_only)
            .map(|p| p.name)
            .collect();
        let keyword_only: Vec<String> = params
            .iter()
            .filter(|p| p.keyword_only)
            .map(|p| format!("{}=...", p.name))
            .collect();
        let takes = match max_positional {
            0 => "takes no positional arguments".to_string(),
            1 => format!(
                "takes 1 positional argument ({})",
                positional_names.join(", ")
            ),
            n => format!(
                "takes at most {n} positional arguments ({})",
                positional_names.join(", ")
            ),
        };
        let mut err = ExprError::new(
            ErrorKind::Arity,
            extra.span,
            format!("{shown} {takes} but {} were given", args.positional.len()),
        )
        .with_label("extra argument");
        err = err.with_help(if keyword_only.is_empty() {
            format!("the signature is {}", spec.signature())
        } else {
            format!(
                "pass the others by keyword ({}); the signature is {}",
                keyword_only.join(", "),
                spec.signature()
            )
        });
        return Err(err);
    }

    for keyword in &args.keywords {
        let name = &keyword.name.name;
        let position = params
            .iter()
            .position(|p| p.name == name.as_str() && !p.var_keyword);
        if position.is_none() && spec.var_keyword().is_some() {
            // Collected by `**name` (a dimension name for sel/isel).
            continue;
        }
        let Some(position) = position else {
            let valid: Vec<&str> = params.iter().map(|p| p.name).collect();
            let mut message = format!("{shown} has no parameter \"{name}\"");
            message.push_str(&did_you_mean(name, valid.iter().copied()));
            let help = if valid.is_empty() {
                format!("{shown} takes no keyword arguments")
            } else {
                format!("valid keywords for {shown}: {}", valid.join(", "))
            };
            if is_method && spec.params.first().is_some_and(|p| p.name == name.as_str()) {
                return Err(ExprError::new(
                    ErrorKind::DuplicateArgument,
                    keyword.name.span,
                    format!("{shown} got two values for \"{name}\""),
                )
                .with_label("already given as the value before the '.'")
                .with_help(help));
            }
            return Err(
                ExprError::new(ErrorKind::UnknownKeyword, keyword.name.span, message)
                    .with_label("unknown keyword")
                    .with_help(help),
            );
        };
        if position < args.positional.len() {
            return Err(ExprError::new(
                ErrorKind::DuplicateArgument,
                keyword.name.span,
                format!("{shown} got two values for \"{name}\""),
            )
            .with_label("also given by position")
            .with_help(format!(
                "positional argument {} is already \"{name}\"; the signature is {}",
                position + 1,
                spec.signature()
            )));
        }
    }

    let missing: Vec<&str> = params
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            p.required
                && *i >= args.positional.len()
                && !args.keywords.iter().any(|k| k.name.name == p.name)
        })
        .map(|(_, p)| p.name)
        .collect();
    if !missing.is_empty() {
        let plural = if missing.len() == 1 { "" } else { "s" };
        // Point at the closing parenthesis, where the argument should have gone.
        let close = Span::new(call_span.end.saturating_sub(1), call_span.end);
        return Err(ExprError::new(
            ErrorKind::Arity,
            close,
            format!(
                "{shown} is missing required argument{plural} {}",
                quoted_list(&missing, "and")
            ),
        )
        .with_label(format!("{} needed", missing.join(", ")))
        .with_help(format!("the signature is {}", spec.signature())));
    }
    Ok(())
}
