package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocsLinksResolve checks every relative link of the README, docs/*.md and
// notebooks/README.md: the file it names exists in the checkout and, for a link with a
// #fragment into a Markdown file, that file has a heading with that GitHub anchor.
func TestDocsLinksResolve(t *testing.T) {
	root := "../.."
	pages := []string{"README.md", "notebooks/README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("docs/ holds no Markdown page")
	}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, rel)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, page := range pages {
		text, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := filepath.Join(root, filepath.Dir(page), file)
			if file == "" {
				path = filepath.Join(root, page)
			}
			checked++
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %q: %v", page, target, err)
				continue
			}
			if frag != "" && strings.HasSuffix(path, ".md") {
				body, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !anchors(string(body))[frag] {
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", page, target, file, frag)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d relative links found in %v: the link pattern is broken", checked, pages)
	}
}

// anchors returns the GitHub anchors of a Markdown page's headings: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			case r > 127 && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)):
				// GitHub keeps non-ASCII letters (é) but drops punctuation and symbols such
				// as the en dash of "1–5" or "×".
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}
