//! Binding the evaluated arguments of a call to the parameters of its catalogue entry
//! ([`FunctionSpec`]): positional arguments in order (the receiver first for methods), then
//! keywords by name. `None` given for an optional parameter means "the default".
//!
//! The validator has already checked names and counts; this module checks again rather than
//! panic, and must not evaluate anything.

use crate::expr::{ErrorKind, ExprError, FunctionSpec, Span};

use super::convert::Spanned;
use super::value::Value;

/// The arguments of one call, by parameter.
#[derive(Debug)]
pub struct BoundArgs {
    spec: &'static FunctionSpec,
    call_span: Span,
    slots: Vec<Option<Spanned>>,
    /// Keywords collected by a `**name` parameter, in the order given.
    extra: Vec<(String, Spanned)>,
}

impl BoundArgs {
    /// Bind `positional` then `keywords` to `spec`'s parameters.
    pub fn bind(
        spec: &'static FunctionSpec,
        positional: Vec<Spanned>,
        keywords: Vec<(String, Spanned)>,
        call_span: Span,
    ) -> Result<BoundArgs, ExprError> {
        let mut slots: Vec<Option<Spanned>> = vec![None; spec.params.len()];
        let max_positional = spec.max_positional();
        for (i, arg) in positional.into_iter().enumerate() {
            if i >= max_positional {
                return Err(ExprError::new(
                    ErrorKind::Arity,
                    arg.span,
                    format!(
                        "{}() takes at most {max_positional} positional arguments",
                        spec.name
                    ),
                ));
            }
            slots[i] = Some(arg);
        }
        let mut extra = Vec::new();
        for (name, arg) in keywords {
            let found = spec
                .params
                .iter()
                .position(|p| p.name == name && !p.var_keyword);
            if found.is_none() && spec.var_keyword().is_some() {
                extra.push((name, arg));
                continue;
            }
            let Some(i) = found else {
                return Err(ExprError::new(
                    ErrorKind::UnknownKeyword,
                    arg.span,
                    format!("{}() has no parameter \"{name}\"", spec.name),
                ));
            };
            if slots[i].is_some() {
                return Err(ExprError::new(
                    ErrorKind::DuplicateArgument,
                    arg.span,
                    format!("{}() got \"{name}\" twice", spec.name),
                ));
            }
            slots[i] = Some(arg);
        }
        for (param, slot) in spec.params.iter().zip(&slots) {
            if param.required && slot.is_none() {
                return Err(ExprError::new(
                    ErrorKind::Arity,
                    call_span,
                    format!("{}() is missing its argument \"{}\"", spec.name, param.name),
                )
                .with_help(format!("the signature is {}", spec.signature())));
            }
        }
        Ok(BoundArgs {
            spec,
            call_span,
            slots,
            extra,
        })
    }

    /// The keywords collected by the `**name` parameter, in the order given.
    pub fn extra_keywords(&self) -> &[(String, Spanned)] {
        &self.extra
    }

    /// The function's name.
    pub fn function(&self) -> &'static str {
        self.spec.name
    }

    /// `` `name()` `` for messages.
    pub fn operation(&self) -> String {
        format!("{}()", self.spec.name)
    }

    /// The span of the whole call.
    pub fn span(&self) -> Span {
        self.call_span
    }

    /// True when `name` was given explicitly as `None` (`sort(x, axis=None)`), which
    /// [`BoundArgs::get`] treats as not given.
    pub fn is_explicit_none(&self, name: &str) -> bool {
        self.spec
            .params
            .iter()
            .position(|p| p.name == name)
            .and_then(|i| self.slots[i].as_ref())
            .is_some_and(|a| matches!(a.value, Value::None))
    }

    /// The argument for `name`, unless it was left out or given as `None`.
    pub fn get(&self, name: &str) -> Option<&Spanned> {
        let i = self.spec.params.iter().position(|p| p.name == name)?;
        self.slots[i]
            .as_ref()
            .filter(|a| !matches!(a.value, Value::None))
    }

    /// The argument for a required parameter `name`.
    pub fn required(&self, name: &str) -> Result<&Spanned, ExprError> {
        self.get(name).ok_or_else(|| {
            ExprError::new(
                ErrorKind::Arity,
                self.call_span,
                format!("{}() needs a value for \"{name}\"", self.spec.name),
            )
            .with_help(format!("the signature is {}", self.spec.signature()))
        })
    }

    /// `"axis of sum()"`, for messages about parameter `name`.
    pub fn what(&self, name: &str) -> String {
        format!("{name} of {}()", self.spec.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Scalar;
    use crate::expr::lookup_function;

    fn int(i: i64) -> Spanned {
        Spanned {
            value: Value::Scalar(Scalar::Int(i)),
            span: Span::new(0, 1),
        }
    }

    #[test]
    fn positional_and_keywords_fill_parameters() {
        let spec = lookup_function("sum").expect("sum");
        let args = BoundArgs::bind(
            spec,
            vec![int(1), int(0)],
            vec![("keepdims".into(), int(1))],
            Span::new(0, 5),
        )
        .expect("binds");
        assert!(args.get("axis").is_some());
        assert!(args.get("split_every").is_none());
        assert_eq!(args.what("axis"), "axis of sum()");
    }

    #[test]
    fn mistakes_are_errors_not_panics() {
        let spec = lookup_function("sum").expect("sum");
        let too_many = BoundArgs::bind(spec, vec![int(1), int(2), int(3)], vec![], Span::new(0, 1));
        assert_eq!(too_many.expect_err("3 args").kind, ErrorKind::Arity);
        let twice = BoundArgs::bind(
            spec,
            vec![int(1), int(2)],
            vec![("axis".into(), int(0))],
            Span::new(0, 1),
        );
        assert_eq!(twice.expect_err("twice").kind, ErrorKind::DuplicateArgument);
        let missing = BoundArgs::bind(spec, vec![], vec![], Span::new(0, 1));
        assert_eq!(missing.expect_err("missing").kind, ErrorKind::Arity);
    }
}
