package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// checkRecursion refuses a file on which HCL's recursive-descent parser
// would recurse more than maxNesting levels, before the parser sees it:
// deep enough, any recursive construct overflows the stack (a fatal error
// no recover catches). It reads the file's tokens (the lexer does not
// recurse) and estimates the parser's depth: one level per open bracket,
// brace, parenthesis, quote and template sequence, plus within each of
// them the chained constructs the parser nests (a run of unary - or !,
// conditionals a ? b : c ? ..., splats [*] and .*, template if/for
// directives). The estimate is never lower than the real depth, and no
// real pipeline comes near the limit.
func checkRecursion(src []byte, filename string) *hcl.Diagnostic {
	tokens, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return recursionDiag(tokens)
}

// checkDepth is checkNesting and checkRecursion: what every parse of
// user text goes through first. template is set for a template file
// (templatefile), whose text starts outside any quote.
func checkDepth(src []byte, filename string, template bool) *hcl.Diagnostic {
	if !template {
		if d := checkNesting(src, filename); d != nil {
			return d
		}
		return checkRecursion(src, filename)
	}
	tokens, _ := hclsyntax.LexTemplate(src, filename, hcl.InitialPos)
	return recursionDiag(tokens)
}

// recursionDiag is the estimate of checkRecursion over tokens.
func recursionDiag(tokens hclsyntax.Tokens) *hcl.Diagnostic {
	type frame struct {
		open  hclsyntax.TokenType
		chain int // nested constructs since the frame opened or its last separator
	}
	frames := []frame{{open: hclsyntax.TokenNil}}
	total, unary, directives := 1, 0, 0
	prev := hclsyntax.TokenNewline
	for i, tok := range tokens {
		top := &frames[len(frames)-1]
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp,
			hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			// A unary run before an opening stays nested inside it.
			frames = append(frames, frame{open: tok.Type, chain: unary})
			total += 1 + unary
			unary = 0
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			if len(frames) > 1 {
				total -= 1 + top.chain
				frames = frames[:len(frames)-1]
			}
			unary = 0
		case hclsyntax.TokenComma:
			total -= top.chain
			top.chain, unary = 0, 0
		case hclsyntax.TokenNewline:
			// Newlines separate attributes and object items; inside
			// parentheses, brackets and templates they do not.
			if top.open == hclsyntax.TokenNil || top.open == hclsyntax.TokenOBrace {
				total -= top.chain
				top.chain, unary = 0, 0
			}
		case hclsyntax.TokenQuestion:
			top.chain++
			total++
		case hclsyntax.TokenStar:
			switch {
			case prev == hclsyntax.TokenOBrack && len(frames) > 1:
				frames[len(frames)-2].chain++ // a splat [*]: it nests in what holds it
				total++
			case prev == hclsyntax.TokenDot:
				top.chain++ // a splat .*
				total++
			}
		case hclsyntax.TokenMinus, hclsyntax.TokenBang:
			if operandExpected(prev) {
				unary++
			}
		case hclsyntax.TokenIdent:
			if i > 0 && tokens[i-1].Type == hclsyntax.TokenTemplateControl {
				switch string(tok.Bytes) {
				case "if", "for":
					directives++
				case "endif", "endfor":
					directives = max(directives-1, 0)
				}
			}
			unary = 0
		case hclsyntax.TokenNumberLit, hclsyntax.TokenQuotedLit, hclsyntax.TokenStringLit:
			unary = 0
		}
		if depth := total + unary + directives; depth > maxNesting {
			return &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Too deeply nested",
				Detail: fmt.Sprintf("The expression here nests more than %d levels deep (brackets, unary operators, conditionals, splats or template directives); "+
					"flatten it, for example with locals.", maxNesting),
				Subject: tok.Range.Ptr(),
			}
		}
		if tok.Type != hclsyntax.TokenComment {
			prev = tok.Type
		}
	}
	return nil
}

// operandExpected reports whether, after a token of type prev, an operand
// comes next, so that - or ! is a unary operator.
func operandExpected(prev hclsyntax.TokenType) bool {
	switch prev {
	case hclsyntax.TokenIdent, hclsyntax.TokenNumberLit, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc,
		hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenStar:
		return false
	}
	return true
}
