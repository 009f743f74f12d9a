package spec

// SetOverlookedVisit sets FindOverlooked's budget of entries and returns
// what restores it.
func SetOverlookedVisit(n int) (restore func()) {
	old := maxOverlookedVisit
	maxOverlookedVisit = n
	return func() { maxOverlookedVisit = old }
}
