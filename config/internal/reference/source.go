package reference

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
)

// comments are the doc comments of a package's struct types and of their
// fields, each on one line.
type comments struct {
	types  map[string]string            // type name → its doc
	fields map[string]map[string]string // type name → field name → its doc
}

// readComments parses the Go files of dir (tests left out) for the doc
// comments of every struct type and field.
func readComments(dir string) (comments, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return comments{}, err
	}
	c := comments{types: map[string]string{}, fields: map[string]map[string]string{}}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return comments{}, fmt.Errorf("read doc comments: %w", err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				c.addType(gen, spec.(*ast.TypeSpec))
			}
		}
	}
	if len(c.types) == 0 {
		return comments{}, fmt.Errorf("read doc comments: no types in %s", dir)
	}
	return c, nil
}

func (c comments) addType(gen *ast.GenDecl, spec *ast.TypeSpec) {
	doc := spec.Doc
	if doc == nil && len(gen.Specs) == 1 {
		doc = gen.Doc
	}
	c.types[spec.Name.Name] = oneLine(doc)
	st, ok := spec.Type.(*ast.StructType)
	if !ok {
		return
	}
	fields := map[string]string{}
	for _, field := range st.Fields.List {
		for _, name := range field.Names {
			fields[name.Name] = oneLine(field.Doc)
		}
	}
	c.fields[spec.Name.Name] = fields
}

// oneLine is a comment's text as one paragraph.
func oneLine(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}
