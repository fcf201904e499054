package store

import (
	"context"
	"fmt"
	"time"
)

func dayOf(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// CountPlacement adds one placement in archetype on the day of at.
func (s *Store) CountPlacement(ctx context.Context, archetype string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO questionnaire_stats (archetype, day, count) VALUES (?, ?, 1)
		ON CONFLICT (archetype, day) DO UPDATE SET count = questionnaire_stats.count + 1`, archetype, dayOf(at))
	if err != nil {
		return fmt.Errorf("store: count placement: %w", err)
	}
	return nil
}

// Placements counts the placements in archetype from since's day on.
func (s *Store) Placements(ctx context.Context, archetype string, since time.Time) (int64, error) {
	var n int64
	err := s.q().QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM questionnaire_stats WHERE archetype = ? AND day >= ?`,
		archetype, dayOf(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: placements: %w", err)
	}
	return n, nil
}
