package cssrules

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// maxDepth bounds the nesting of blocks a sheet may have.
const maxDepth = 64

// ErrSyntax is returned by [Parse] and [Sheet.InsertRule] for CSS with a
// parse error.
var ErrSyntax = errors.New("cssrules: syntax error")

// tok is one CSS token, a byte range of the source. Comments are not
// tokens; glued marks a token that a comment, and no whitespace, separates
// from the token before it.
type tok struct {
	typ    css.TokenType
	lo, hi int32
	glued  bool
	match  int32 // of a '(', '[', '{' or function: the index of its closer
}

// tokens lexes src. Blocks are matched as CSS Syntax Level 3 consumes
// them: inside a block only its own closer ends it, other closers are plain
// tokens. An unclosed block, comment or string, a bad URL or more than
// maxDepth nested blocks is an error.
func tokens(src string) ([]tok, error) {
	l := css.NewLexer(parse.NewInputString(src))
	toks := make([]tok, 0, len(src)/4+1)
	var stack []int32
	off := int32(0)
	glued := false
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			if err := l.Err(); err != io.EOF {
				return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
			}
			break
		}
		lo := off
		off += int32(len(data))
		switch tt {
		case css.CommentToken:
			if len(data) < 4 || !strings.HasSuffix(string(data), "*/") {
				return nil, fmt.Errorf("%w: unclosed comment at byte %d", ErrSyntax, lo)
			}
			glued = len(toks) > 0 && toks[len(toks)-1].typ != css.WhitespaceToken
			continue
		case css.BadStringToken, css.BadURLToken:
			return nil, fmt.Errorf("%w: bad string or URL at byte %d", ErrSyntax, lo)
		case css.StringToken:
			if len(data) < 2 || data[len(data)-1] != data[0] || data[len(data)-2] == '\\' && !evenBackslashes(data[1:len(data)-1]) {
				return nil, fmt.Errorf("%w: unclosed string at byte %d", ErrSyntax, lo)
			}
		case css.URLToken:
			if data[len(data)-1] != ')' {
				return nil, fmt.Errorf("%w: unclosed url( at byte %d", ErrSyntax, lo)
			}
		case css.CustomPropertyNameToken:
			tt = css.IdentToken
		}
		t := tok{typ: tt, lo: lo, hi: off, glued: glued && tt != css.WhitespaceToken, match: -1}
		glued = false
		i := int32(len(toks))
		switch tt {
		case css.LeftParenthesisToken, css.FunctionToken, css.LeftBracketToken, css.LeftBraceToken:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: blocks nested deeper than %d at byte %d", ErrSyntax, maxDepth, lo)
			}
			stack = append(stack, i)
		case css.RightParenthesisToken, css.RightBracketToken, css.RightBraceToken:
			if n := len(stack); n > 0 && closer(toks[stack[n-1]].typ) == tt {
				toks[stack[n-1]].match = i
				stack = stack[:n-1]
			}
		}
		toks = append(toks, t)
	}
	if off != int32(len(src)) {
		return nil, fmt.Errorf("%w: tokens cover %d of %d bytes", ErrSyntax, off, len(src))
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: unclosed block at byte %d", ErrSyntax, toks[stack[len(stack)-1]].lo)
	}
	return toks, nil
}

// evenBackslashes reports whether s ends with an even number of
// backslashes (so that its last quote is not escaped).
func evenBackslashes(s []byte) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// closer returns the token that closes a block opened by tt.
func closer(tt css.TokenType) css.TokenType {
	switch tt {
	case css.LeftParenthesisToken, css.FunctionToken:
		return css.RightParenthesisToken
	case css.LeftBracketToken:
		return css.RightBracketToken
	case css.LeftBraceToken:
		return css.RightBraceToken
	}
	return css.ErrorToken
}
