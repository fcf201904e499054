# County job guidance service (county): Guidance and training to find work.
# Exemple: programa comarcal d'ocupació.
package obert.aids.orientacio_laboral

import rego.v1

import data.obert.aids.lib

criteria["aged-18-or-more"] := lib.age >= 18

criteria["out-of-work"] := input.facts.employment.employed == false

criteria["lives-in-baix-camp"] := input.facts.census.county_code == "08"
