//! The `#[tasklane::main]` and `#[tasklane::test]` attribute macros.
//!
//! Use them through the `tasklane` crate, which re-exports them: this crate
//! is an implementation detail and its expansions refer to `::tasklane`
//! paths, so the calling crate must depend on `tasklane` under that name.
//!
//! Both macros turn an `async fn` into a plain `fn` that builds a tasklane
//! runtime, drives the body on it with `Runtime::block_on`, then shuts the
//! runtime down gracefully with `tasklane::DEFAULT_GRACE`, exactly as
//! `tasklane::run` does, and returns the body's value.

use proc_macro::TokenStream;
use proc_macro2::{Literal, Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, ReturnType, Token};

/// Worker threads of a `#[tasklane::test]` runtime unless `worker_threads`
/// says otherwise.
const TEST_DEFAULT_WORKERS: usize = 2;

/// Runs an `async fn` as the program's entry point on a tasklane runtime.
///
/// ```ignore
/// #[tasklane::main]
/// async fn main() {
///     let v = tasklane::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(v, 42);
/// }
/// ```
///
/// expands to
///
/// ```ignore
/// fn main() {
///     let body = async move {
///         let v = tasklane::spawn(async { 6 * 7 }).await.unwrap();
///         assert_eq!(v, 42);
///     };
///     ::tasklane::__private::block_on_and_shutdown(::tasklane::Builder::new(), body)
/// }
/// ```
///
/// that is: a runtime from `tasklane::Builder::new()` (one worker per core),
/// the body driven to completion on it with `block_on`, then a graceful
/// shutdown with `tasklane::DEFAULT_GRACE`, as `tasklane::run` does. The
/// function may return a value (`-> Result<(), E>` for instance): the
/// return type is kept and the body's value is returned.
///
/// # Options
///
/// - `worker_threads = N`: the runtime gets `N` worker threads (a positive
///   integer literal), as with `tasklane::Builder::worker_threads`:
///
/// ```ignore
/// #[tasklane::main(worker_threads = 4)]
/// async fn main() -> std::io::Result<()> {
///     Ok(())
/// }
/// ```
///
/// - `flavor = "current_thread"`: a current-thread runtime
///   (`tasklane::Builder::current_thread`): every task runs on the thread
///   of `main`, and `tasklane::task::spawn_local` works. `"multi_thread"`
///   is the default. `worker_threads` cannot be given with
///   `"current_thread"`.
/// - `seed = N`: the deterministic runtime with seed `N`
///   (`tasklane::Builder::deterministic`; `TASKLANE_SEED` in the
///   environment overrides it). `flavor` cannot be given with it.
///
/// - `start_paused = true`: the runtime's clock starts paused
///   (`tasklane::Builder::start_paused`): time stands still while any task
///   can run and jumps to the next timer's deadline once every task is
///   idle. `false` is the default. Any flavour.
///
/// # Rules
///
/// The function must be `async` and have no generic parameters. When it is
/// named `main` it takes no arguments; a function with another name may be
/// marked too (and then may take arguments), to be called like any other
/// function: each call builds and shuts down its own runtime.
///
/// # Panics
///
/// The generated function panics if the runtime cannot be built, or if it
/// is called on a worker thread of a tasklane runtime (from inside a task).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` as a `#[test]` on its own tasklane runtime.
///
/// ```ignore
/// #[tasklane::test]
/// async fn spawns() {
///     assert_eq!(tasklane::spawn(async { 1 }).await.unwrap(), 1);
/// }
/// ```
///
/// expands to
///
/// ```ignore
/// #[::core::prelude::v1::test]
/// fn spawns() {
///     let body = async move {
///         assert_eq!(tasklane::spawn(async { 1 }).await.unwrap(), 1);
///     };
///     ::tasklane::__private::block_on_and_shutdown(
///         ::tasklane::Builder::new().worker_threads(2),
///         body,
///     )
/// }
/// ```
///
/// Each test gets a fresh runtime with **2 worker threads** by default (not
/// one per core: tests run in parallel already), which is shut down
/// gracefully with `tasklane::DEFAULT_GRACE` when the body returns, as
/// `tasklane::run` does. Other attributes and doc comments on the function
/// (`#[should_panic]`, `#[ignore]`, ...) are kept, and so is its return
/// type, so a test may return `Result<(), E>`.
///
/// # Options
///
/// - `worker_threads = N`: the runtime gets `N` worker threads (a positive
///   integer literal) instead of 2:
///
/// ```ignore
/// #[tasklane::test(worker_threads = 1)]
/// async fn on_one_worker() {}
/// ```
///
/// - `flavor = "current_thread"`: a current-thread runtime, every task on
///   the test's own thread (see `#[tasklane::main]`).
/// - `seed = N`: the deterministic runtime (`tasklane::Builder::deterministic`)
///   with seed `N` (`worker_threads` simulated workers, 2 by default).
/// - `seeds = N`: the body runs once per seed `0..N`, each on a fresh
///   deterministic runtime; the first seed that fails (a panic, or an
///   `Err` returned) fails the test with a message naming it. With
///   `TASKLANE_SEED=<seed>` in the environment, `seed` and `seeds` tests
///   run that one seed instead: a failure replays.
///
/// ```ignore
/// #[tasklane::test(seeds = 500)]
/// async fn no_lost_update() { /* ... */ }
/// ```
///
/// - `start_paused = true`: the test runs on a paused clock
///   (`tasklane::Builder::start_paused`), on either flavour: a test that
///   sleeps an hour takes milliseconds, and sees exact times.
///
/// ```ignore
/// #[tasklane::test(start_paused = true)]
/// async fn an_hour_at_once() {
///     let start = tasklane::time::Instant::now();
///     tasklane::time::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
/// }
/// ```
///
/// # Rules
///
/// The function must be `async`, take no arguments and have no generic
/// parameters, and must not also be marked `#[test]`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    /// What the generated function starts with: `#[test]` for a test.
    fn header(self) -> TokenStream2 {
        match self {
            Kind::Main => quote!(),
            Kind::Test => quote!(#[::core::prelude::v1::test]),
        }
    }

    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[tasklane::main]",
            Kind::Test => "#[tasklane::test]",
        }
    }
}

/// The options given to the attribute.
#[derive(Default)]
struct Config {
    /// `worker_threads = N`: the value and the literal's span.
    worker_threads: Option<(usize, Span)>,
    /// `flavor = ".."`: the value and the literal's span.
    flavor: Option<(Flavor, Span)>,
    /// `seed = N`: one seed of the deterministic runtime.
    seed: Option<(u64, Span)>,
    /// `seeds = N`: seeds `0..N` of the deterministic runtime, one run each.
    seeds: Option<(u64, Span)>,
    /// `start_paused = true|false`: the value and the literal's span.
    start_paused: Option<(bool, Span)>,
}

/// The runtime flavour asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    // Not a function: give the item back unchanged beside the error, so
    // that the rest of the crate still sees it (no "`main` function not
    // found" on top of the real error).
    let mut input: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_error(item, e),
    };

    let mut errors = Errors::default();
    let config = parse_config(args, &mut errors);
    if let (Kind::Main, Some((_, span))) = (kind, config.seeds) {
        errors.push(syn::Error::new(
            span,
            "`seeds` is for `#[tasklane::test]` (a sweep reports the seed that fails); \
             `#[tasklane::main]` takes one `seed`",
        ));
    }

    // Errors after which an expansion is still possible: it is emitted
    // beside them, so the body is still checked.
    if input.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            input.sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if kind == Kind::Test {
        input.attrs.retain(|attr| {
            let dup = attr.path().is_ident("test");
            if dup {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "second test attribute: `#[tasklane::test]` already makes the function \
                     a test; remove this `#[test]`",
                ));
            }
            !dup
        });
    }

    // Errors after which the function cannot be expanded: a stub of the
    // same name stands in for it.
    let mut stub = false;
    let has_inputs = !input.sig.inputs.is_empty() || input.sig.variadic.is_some();
    let no_inputs_allowed = match kind {
        Kind::Main => input.sig.ident == "main",
        Kind::Test => true,
    };
    if has_inputs && no_inputs_allowed {
        let what = match kind {
            Kind::Main => "the `main` function cannot accept arguments",
            Kind::Test => "a test function cannot accept arguments",
        };
        let params: TokenStream2 = match &input.sig.variadic {
            Some(v) => {
                let inputs = &input.sig.inputs;
                quote!(#inputs #v)
            }
            None => input.sig.inputs.to_token_stream(),
        };
        errors.push(syn::Error::new_spanned(params, what));
        stub = true;
    }
    let generics = &input.sig.generics;
    if generics.lt_token.is_some() {
        errors.push(syn::Error::new_spanned(
            generics,
            format!(
                "a function marked `{}` cannot have generic parameters",
                kind.attr()
            ),
        ));
        stub = true;
    }

    let out = if stub {
        expand_stub(kind, input)
    } else {
        expand_fn(kind, input, &config)
    };
    match errors.0 {
        Some(e) => with_error(out, e),
        None => out,
    }
}

/// The options the attributes accept.
const OPTIONS: &str = "`worker_threads`, `flavor`, `start_paused`, `seed`, `seeds`";

/// Parses the options (`worker_threads = N`, `flavor = ".."`,
/// `start_paused = true`), reporting
/// every problem into `errors`; the options that parsed are returned.
fn parse_config(args: TokenStream2, errors: &mut Errors) -> Config {
    let mut config = Config::default();
    let mut seen: Vec<String> = Vec::new();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(e) => {
            errors.push(e);
            return config;
        }
    };
    for meta in metas {
        let path = meta.path();
        let name = match path.get_ident() {
            Some(ident) => ident.to_string(),
            None => path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                .join("::"),
        };
        let known = matches!(
            name.as_str(),
            "worker_threads" | "flavor" | "start_paused" | "seed" | "seeds"
        );
        if !known || path.get_ident().is_none() {
            errors.push(syn::Error::new_spanned(
                path,
                format!("unknown option `{name}`; expected one of {OPTIONS}"),
            ));
            continue;
        }
        if seen.contains(&name) {
            errors.push(syn::Error::new_spanned(
                path,
                format!("duplicate option `{name}`"),
            ));
            continue;
        }
        seen.push(name.clone());
        let value = match &meta {
            Meta::NameValue(nv) => &nv.value,
            _ => {
                let example = match name.as_str() {
                    "worker_threads" => "worker_threads = 4",
                    "seed" => "seed = 42",
                    "seeds" => "seeds = 500",
                    "start_paused" => "start_paused = true",
                    _ => "flavor = \"current_thread\"",
                };
                errors.push(syn::Error::new_spanned(
                    &meta,
                    format!("`{name}` needs a value, as in `{example}`"),
                ));
                continue;
            }
        };
        let parsed = match name.as_str() {
            "worker_threads" => parse_workers(value).map(|n| config.worker_threads = Some(n)),
            "seed" => parse_u64(value, "seed", false).map(|n| config.seed = Some(n)),
            "seeds" => parse_u64(value, "seeds", true).map(|n| config.seeds = Some(n)),
            "start_paused" => parse_bool(value).map(|b| config.start_paused = Some(b)),
            _ => parse_flavor(value).map(|f| config.flavor = Some(f)),
        };
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    if let (Some(_), Some((_, span))) = (config.seed, config.seeds) {
        errors.push(syn::Error::new(
            span,
            "`seed` and `seeds` cannot both be given: `seed` runs one seed, `seeds = N` runs \
             seeds 0..N",
        ));
    }
    if let (Some((_, span)), Some(_)) = (config.flavor, config.seed.or(config.seeds)) {
        errors.push(syn::Error::new(
            span,
            "`flavor` cannot be given with `seed` or `seeds`: they run the deterministic \
             runtime",
        ));
    }
    if let (Some((Flavor::CurrentThread, _)), Some((_, span))) =
        (config.flavor, config.worker_threads)
    {
        errors.push(syn::Error::new(
            span,
            "`worker_threads` needs the multi-thread flavor: a current-thread runtime runs \
             every task on the thread inside `block_on`",
        ));
    }
    config
}

/// The value of `seed = N` or `seeds = N`: an integer literal (positive for
/// `seeds`).
fn parse_u64(value: &Expr, name: &str, positive: bool) -> syn::Result<(u64, Span)> {
    let zero = format!("`{name}` must be at least 1");
    parse_int(
        value,
        "u64",
        &format!("`{name}` must be an integer literal, as in `{name} = 42`"),
        positive.then_some(zero.as_str()),
    )
}

/// The value of `flavor = ".."`: `"current_thread"` or `"multi_thread"`.
fn parse_flavor(value: &Expr) -> syn::Result<(Flavor, Span)> {
    let mut value = value;
    while let Expr::Group(g) = value {
        value = &g.expr;
    }
    let bad = || {
        syn::Error::new_spanned(
            value,
            "`flavor` must be \"current_thread\" or \"multi_thread\"",
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Str(s), ..
    }) = value
    else {
        return Err(bad());
    };
    match s.value().as_str() {
        "current_thread" => Ok((Flavor::CurrentThread, s.span())),
        "multi_thread" => Ok((Flavor::MultiThread, s.span())),
        _ => Err(bad()),
    }
}

/// The value of `start_paused = ..`: `true` or `false`.
fn parse_bool(value: &Expr) -> syn::Result<(bool, Span)> {
    let mut value = value;
    while let Expr::Group(g) = value {
        value = &g.expr;
    }
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok((b.value, b.span)),
        _ => Err(syn::Error::new_spanned(
            value,
            "`start_paused` must be `true` or `false`",
        )),
    }
}

/// The value of `worker_threads = N`: a positive integer literal.
fn parse_workers(value: &Expr) -> syn::Result<(usize, Span)> {
    parse_int(
        value,
        "usize",
        "`worker_threads` must be a positive integer literal, as in `worker_threads = 4`",
        Some("`worker_threads` must be at least 1"),
    )
}

/// An integer literal, unsuffixed or with `suffix`; `not_int` is the error
/// for anything else, `zero` (if given) the error for 0.
fn parse_int<N>(
    value: &Expr,
    suffix: &str,
    not_int: &str,
    zero: Option<&str>,
) -> syn::Result<(N, Span)>
where
    N: std::str::FromStr + Default + PartialEq,
    N::Err: std::fmt::Display,
{
    // A literal passed through a `macro_rules!` fragment arrives wrapped in
    // an invisible group.
    let mut value = value;
    while let Expr::Group(g) = value {
        value = &g.expr;
    }
    let bad = || syn::Error::new_spanned(value, not_int);
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = value
    else {
        return Err(bad());
    };
    if !(int.suffix().is_empty() || int.suffix() == suffix) {
        return Err(bad());
    }
    let n: N = int.base10_parse().map_err(|_| bad())?;
    if let Some(zero) = zero.filter(|_| n == N::default()) {
        return Err(syn::Error::new_spanned(int, zero));
    }
    Ok((n, int.span()))
}

/// The generated function: the signature without `async`, the body in an
/// `async move` block driven by `block_on_and_shutdown`.
fn expand_fn(kind: Kind, input: ItemFn, config: &Config) -> TokenStream2 {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = input;
    sig.asyncness = None;

    let builder = match config.flavor {
        Some((Flavor::CurrentThread, span)) => {
            quote_spanned!(span=> ::tasklane::Builder::new().current_thread())
        }
        _ => {
            let workers = match (config.worker_threads, kind) {
                (Some((n, span)), _) => Some((n, span)),
                (None, Kind::Test) => Some((TEST_DEFAULT_WORKERS, Span::call_site())),
                (None, Kind::Main) => None,
            };
            match workers {
                Some((n, span)) => {
                    let mut lit = Literal::usize_unsuffixed(n);
                    lit.set_span(span);
                    quote!(::tasklane::Builder::new().worker_threads(#lit))
                }
                None => quote!(::tasklane::Builder::new()),
            }
        }
    };

    let builder = match config.start_paused {
        Some((true, span)) => quote_spanned!(span=> #builder.start_paused(true)),
        _ => builder,
    };

    // The call that yields the function's value is given the location of
    // the body's last statement, so that a body of the wrong type is
    // reported there rather than at the attribute. Its hygiene stays the
    // macro's, so lints treat it as generated code.
    let (start, end) = last_stmt_span(&block);
    let start = Span::call_site().located_at(start);
    let end = Span::call_site().located_at(end);
    let seeds = match (config.seed, config.seeds) {
        (Some((n, span)), _) => Some(quote_spanned!(span=> ::tasklane::__private::Seeds::One(#n))),
        (None, Some((n, span))) => {
            Some(quote_spanned!(span=> ::tasklane::__private::Seeds::Sweep(#n)))
        }
        (None, None) => None,
    };
    let header = kind.header();
    match seeds {
        None => {
            let path = quote_spanned!(start=> ::tasklane::__private::block_on_and_shutdown);
            let mut args = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote!(#builder, body),
            );
            args.set_span(end);
            quote! {
                #header
                #(#attrs)*
                #vis #sig {
                    let body = async move #block;
                    #path #args
                }
            }
        }
        Some(seeds) => {
            // One body per seed: a closure that makes it.
            let path = quote_spanned!(start=> ::tasklane::__private::run_seeds);
            let mut args = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote!(#builder, #seeds, body),
            );
            args.set_span(end);
            quote! {
                #header
                #(#attrs)*
                #vis #sig {
                    let body = || async move #block;
                    #path #args
                }
            }
        }
    }
}

/// The first and last token spans of the body's last statement, or the
/// closing brace of an empty body.
fn last_stmt_span(block: &syn::Block) -> (Span, Span) {
    match block.stmts.last() {
        Some(stmt) => {
            let mut tokens = stmt.to_token_stream().into_iter();
            let start = tokens.next().map_or_else(|| stmt.span(), |t| t.span());
            let end = tokens.last().map_or(start, |t| t.span());
            (start, end)
        }
        None => {
            let close = block.brace_token.span.close();
            (close, close)
        }
    }
}

/// A stand-in for a function whose signature cannot be expanded: same
/// attributes, name and (when it can be kept) return type, no arguments,
/// no generics, and a body that never runs. It keeps the rest of the crate
/// from reporting a missing `main` or an unknown function on top of the
/// real error.
fn expand_stub(kind: Kind, input: ItemFn) -> TokenStream2 {
    let ItemFn {
        attrs, vis, sig, ..
    } = input;
    let ident = &sig.ident;
    // A return type may name the generic parameters that are dropped.
    let output = if sig.generics.lt_token.is_some() {
        ReturnType::Default
    } else {
        sig.output.clone()
    };
    let header = kind.header();
    quote! {
        #header
        #(#attrs)*
        #vis fn #ident() #output {
            ::core::unreachable!()
        }
    }
}

/// `tokens` followed by the error's `compile_error!` invocations.
fn with_error(mut tokens: TokenStream2, error: syn::Error) -> TokenStream2 {
    tokens.extend(error.to_compile_error());
    tokens
}
