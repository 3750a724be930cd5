package report

import "math"

func pow2(x float64) float64 { return math.Exp2(x) }
