// Package cssrules minifies style sheets without changing their rule list,
// and models a sheet's rules the way the CSSOM exposes them.
//
// rrweb addresses the rules of a style sheet by index: StyleSheetRule events
// insert and delete at an index path, StyleDeclaration events change the
// declarations of the rule at an index path. A stored sheet must therefore
// keep every rule of the recorded one, in order, nested rules included,
// empty rules and empty at-rules too.
//
// # Minifying
//
// [Minify] parses a sheet with the rules of CSS Syntax Level 3 (tokens from
// github.com/tdewolff/parse/v2/css), then writes every rule again: preludes
// (selectors, at-rule preludes) lose comments and the whitespace no CSS
// grammar gives a meaning to; runs of declarations inside style rules are
// minified by github.com/tdewolff/minify/v2/css one run at a time, so the
// minifier never sees a rule it could drop; other declaration blocks
// (@font-face, @page, @property…) lose only comments and whitespace. The
// result is parsed again and must have the same rule list as the input
// (same kinds, names, preludes and nesting); when it has not, when the
// input has a parse error (an unclosed block, comment or string, a stray
// closing brace, a prelude cut off at the end), or when minifying would not
// shorten it, the input is returned unchanged.
//
// # The rule model
//
// [Parse] returns a [Sheet]: the rules a CSSOM would list in cssRules, each
// with its nested rules, declarations after nested rules grouped into
// [NestedDeclarations] rules as CSS Nesting specifies. [Sheet.InsertRule],
// [Sheet.DeleteRule], [Sheet.Rule], [Rule.SetProperty] and
// [Rule.RemoveProperty] change it the way CSSStyleSheet.insertRule,
// deleteRule and CSSStyleDeclaration.setProperty change a browser's sheet.
// The model is syntactic: a browser also drops rules whose selector or
// prelude it does not understand. Minifying keeps every prelude's tokens
// (only whitespace no grammar gives a meaning to goes), so a browser drops
// the same rules before and after.
//
// # Security
//
// Style sheets come from recorded pages and are untrusted. Minify and
// Parse take time and memory linear in the size of the input; blocks nested
// deeper than 64 levels are a parse error (Minify returns such a sheet
// unchanged).
package cssrules
