package sandbox

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The hidden hooks (the preemption tick, the call-depth check, the source check) of a loop
// with lazy guards are built when the VM first reads one, instead of at Install (issue 20:
// ~4 KB per VM whose script never reaches them).
//
// Install defines each hook on the global object and on Number.prototype, non-writable,
// non-enumerable and non-configurable (the depth check an accessor without a setter). Here the
// three names are added once per process to goja's templates of both objects, so that every
// VM's global object and Number.prototype have them as own properties from the start; goja
// builds a templated property (its factory) before any read, descriptor, define, delete or key
// listing of it, and the factory gives a loop's VM the hook Install would have defined, with
// the same attributes, one object shared by both holders. A script therefore meets the same
// non-configurable hooks on its first access as later, by any route (the rewrite's 0..name,
// the global identifier, Object.getOwnPropertyDescriptor, defineProperty, delete, with).
// The call-stack bounds are still set at Install (setDepthBound). A VM of no registered loop
// (goja.New in a test) sees the names as non-writable, non-enumerable, non-configurable
// undefined properties.

// lazyHooksOn reports whether the hook names were added to goja's templates.
var lazyHooksOn bool

var hookNames = [...]unistring.String{tickName, enterName, sourceName}

// patchHookTemplates adds the hook names to the global object's and Number.prototype's
// templates (once per process, in patchSandboxTemplates).
func patchHookTemplates(vm *goja.Runtime, global *map[unistring.String]gojainternal.Factory, globalNames *[]unistring.String) bool {
	np := vm.ToValue(0).ToObject(vm).Prototype()
	number, numberNames := gojainternal.TemplateProps(np), gojainternal.TemplateNames(np)
	if number == nil || numberNames == nil || gojainternal.NewProp(goja.Undefined(), nil, false, false, false) == nil {
		return false
	}
	for _, n := range hookNames {
		if (*global)[n] != nil || (*number)[n] != nil {
			return false
		}
	}
	for _, n := range hookNames {
		name := n
		f := func(r *goja.Runtime) goja.Value {
			if sb := lazyLoopOf(r); sb != nil && sb.hooksLazy {
				return sb.hookProp(name)
			}
			return gojainternal.NewProp(goja.Undefined(), nil, false, false, false)
		}
		(*global)[name], (*number)[name] = f, f
	}
	// new arrays: a VM that copied the old ones keeps them
	*globalNames = append(append([]unistring.String(nil), *globalNames...), hookNames[:]...)
	*numberNames = append(append([]unistring.String(nil), *numberNames...), hookNames[:]...)
	return true
}

// hookProp is the property of the hook name, built on first use. VM goroutine only.
func (sb *Sandbox) hookProp(name unistring.String) goja.Value {
	switch name {
	case tickName:
		if sb.tickObj == nil {
			sb.tickObj = sb.nativeFunc(tickName, sb.tick)
		}
		return gojainternal.NewProp(sb.tickObj, nil, false, false, false)
	case enterName:
		if sb.enterObj == nil {
			sb.enterObj = sb.enterGetter()
		}
		return gojainternal.NewProp(nil, sb.enterObj, false, false, false)
	default:
		if sb.sourceObj == nil {
			sb.sourceObj = sb.sourceFunc(sb.vm.GlobalObject(), sb.srcEvalFn, sb.srcFnGuarded)
		}
		return gojainternal.NewProp(sb.sourceObj, nil, false, false, false)
	}
}
