package funnel_test

import (
	"fmt"
	"time"

	"github.com/enode-dev/enode/funnel"
)

// Bursts of 3 pass; then a request every half second, the leak rate.
func Example() {
	clock := funnel.NewManualClock(0)
	cfg := funnel.DefaultConfig()
	cfg.Capacity, cfg.Rate, cfg.Clock = 3, 2, clock
	lim, err := funnel.New(cfg)
	if err != nil {
		panic(err)
	}
	defer lim.Close()
	for range 4 {
		d, _ := lim.Allow("203.0.113.7")
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	clock.Advance(500 * time.Millisecond)
	d, _ := lim.Allow("203.0.113.7")
	fmt.Println(d.Allowed, d.Remaining, d.ResetAfter)
	// Output:
	// true 2 0s
	// true 1 0s
	// true 0 0s
	// false 0 500ms
	// true 0 1.5s
}
