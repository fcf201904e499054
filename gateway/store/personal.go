package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Favourite is one thing a citizen marked: an aid, a procedure or a
// document, by its reference.
type Favourite struct {
	Kind, Ref string
	CreatedAt time.Time
}

// SetFavourite marks (on) or unmarks ref of kind for subject; marking
// twice keeps the first time.
func (s *Store) SetFavourite(ctx context.Context, subject, kind, ref string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.q().ExecContext(ctx, `INSERT INTO favourites (subject, kind, ref, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (subject, kind, ref) DO NOTHING`, subject, kind, ref, micros(at))
	} else {
		_, err = s.q().ExecContext(ctx, `DELETE FROM favourites WHERE subject = ? AND kind = ? AND ref = ?`, subject, kind, ref)
	}
	if err != nil {
		return fmt.Errorf("store: favourite: %w", err)
	}
	return nil
}

// Favourites lists subject's favourites, oldest first.
func (s *Store) Favourites(ctx context.Context, subject string) ([]Favourite, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT kind, ref, created_at FROM favourites WHERE subject = ? ORDER BY created_at, kind, ref`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: favourites: %w", err)
	}
	defer rows.Close()
	var out []Favourite
	for rows.Next() {
		var f Favourite
		var at int64
		if err := rows.Scan(&f.Kind, &f.Ref, &at); err != nil {
			return nil, fmt.Errorf("store: favourites: %w", err)
		}
		f.CreatedAt = fromMicros(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// LifeEvent is a life event a citizen says applies to them, and since when
// they said so.
type LifeEvent struct {
	Event string
	Since time.Time
}

// SetLifeEvent says (on) or unsays that event applies to subject.
func (s *Store) SetLifeEvent(ctx context.Context, subject, event string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.q().ExecContext(ctx, `INSERT INTO life_events (subject, event, created_at) VALUES (?, ?, ?)
			ON CONFLICT (subject, event) DO NOTHING`, subject, event, micros(at))
	} else {
		_, err = s.q().ExecContext(ctx, `DELETE FROM life_events WHERE subject = ? AND event = ?`, subject, event)
	}
	if err != nil {
		return fmt.Errorf("store: life event: %w", err)
	}
	return nil
}

// LifeEvents lists the life events subject said apply to them.
func (s *Store) LifeEvents(ctx context.Context, subject string) ([]LifeEvent, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT event, created_at FROM life_events WHERE subject = ? ORDER BY created_at, event`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: life events: %w", err)
	}
	defer rows.Close()
	var out []LifeEvent
	for rows.Next() {
		var e LifeEvent
		var at int64
		if err := rows.Scan(&e.Event, &at); err != nil {
			return nil, fmt.Errorf("store: life events: %w", err)
		}
		e.Since = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Layout is the order of the folder's sections and those hidden; a
// citizen who never changed it has none (the pages' default).
type Layout struct {
	Sections, Hidden []string
	UpdatedAt        time.Time
}

// SetLayout stores subject's layout.
func (s *Store) SetLayout(ctx context.Context, subject string, l Layout) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO folder_layouts (subject, sections, hidden, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET sections = excluded.sections, hidden = excluded.hidden, updated_at = excluded.updated_at`,
		subject, strings.Join(l.Sections, ","), strings.Join(l.Hidden, ","), micros(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: layout: %w", err)
	}
	return nil
}

// LayoutOf returns subject's layout, and false if they never set one.
func (s *Store) LayoutOf(ctx context.Context, subject string) (Layout, bool, error) {
	var sections, hidden string
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT sections, hidden, updated_at FROM folder_layouts WHERE subject = ?`, subject).Scan(&sections, &hidden, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Layout{}, false, nil
	}
	if err != nil {
		return Layout{}, false, fmt.Errorf("store: layout: %w", err)
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	return Layout{Sections: split(sections), Hidden: split(hidden), UpdatedAt: fromMicros(at)}, true, nil
}
