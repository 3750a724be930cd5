package check

import (
	"reflect"

	"github.com/dop251/goja/ast"
)

var (
	nodeType = reflect.TypeFor[ast.Node]()
	astPkg   = nodeType.PkgPath()
)

// children returns the ast nodes directly held by n, found by reflection over its fields (goja's
// ast package has no walker): fields, pointers, interfaces and slices of the ast package's types.
func children(n ast.Node) []ast.Node {
	var out []ast.Node
	var rec func(v reflect.Value, top bool)
	rec = func(v reflect.Value, top bool) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				rec(v.Elem(), false)
			}
		case reflect.Pointer:
			if v.IsNil() || v.Elem().Type().PkgPath() != astPkg {
				return
			}
			if !top && v.Type().Implements(nodeType) {
				out = append(out, v.Interface().(ast.Node))
				return
			}
			rec(v.Elem(), top)
		case reflect.Struct:
			if v.Type().PkgPath() != astPkg {
				return
			}
			if !top && v.CanAddr() && v.Addr().Type().Implements(nodeType) {
				out = append(out, v.Addr().Interface().(ast.Node))
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					rec(v.Field(i), false)
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				rec(v.Index(i), false)
			}
		}
	}
	rec(reflect.ValueOf(n), true)
	return out
}
