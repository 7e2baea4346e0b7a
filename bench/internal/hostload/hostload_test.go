package hostload

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentileAndMedian(t *testing.T) {
	sorted := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.Equal(t, time.Duration(5), Percentile(sorted, 0.5))
	require.Equal(t, time.Duration(10), Percentile(sorted, 0.99))
	require.Equal(t, time.Duration(10), Percentile(sorted, 1))
	require.Equal(t, time.Duration(1), Percentile(sorted, 0))
	require.Zero(t, Percentile(nil, 0.5))
	require.InDelta(t, 2.5, Median([]float64{4, 1, 3, 2}), 1e-9)
	require.InDelta(t, 3, Median([]float64{5, 3, 1}), 1e-9)
	require.True(t, math.IsNaN(Median(nil)))
}

func TestMachineSamples(t *testing.T) {
	a := ReadCPUStat()
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // keep a CPU busy for a moment
	}
	b := ReadCPUStat()
	l := Between(a, b)
	require.GreaterOrEqual(t, l.Busy, 0.0)
	require.LessOrEqual(t, l.Busy, 1.0)
	require.Positive(t, SelfCPU())
	require.Equal(t, Load{}, Between(b, b), "no time, no load")
}
