"""The OpenAPI 3.0 description of API v1, served at /api/v1/openapi.json."""

from __future__ import annotations

NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}
SHARE = {"type": "number", "minimum": 0, "maximum": 1, "description": "fraction of 1"}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": STRING, "message": STRING,
                   "parameter": {"type": "string", "description": "the bad parameter (400)"}},
}

FILTERS = [
    {"name": "channel", "in": "query", "schema": {"type": "string", "enum": ["online", "paper"]}},
    {"name": "region", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 12},
     "description": "IIEG region number"},
    {"name": "municipality", "in": "query", "schema": {"type": "string", "pattern": "^14\\d{3}$"},
     "description": "INEGI code, e.g. 14039 (Guadalajara)"},
    {"name": "metro", "in": "query", "schema": {"type": "string", "enum": ["1", "0"]},
     "description": "1: Guadalajara metropolitan zone; 0: the rest of the state"},
    {"name": "filters", "in": "query", "style": "form", "explode": True,
     "schema": {"type": "object", "additionalProperties": {"type": "string"}},
     "description": "<question code>=<option code> for any single-choice question, "
                    "e.g. sector=private"},
    {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["es", "en"]},
     "description": "language of names; default: Accept-Language, else Spanish"},
]
WEIGHT = {"name": "weight", "in": "query",
          "schema": {"type": "string", "enum": ["none", "population"], "default": "none"},
          "description": "population: post-stratify respondents by region to the 2020 census"}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": STRING}

RANKING = {
    "type": "object",
    "required": ["consultation", "respondents", "votes", "weighting", "themes", "concentration"],
    "properties": {
        "consultation": STRING,
        "respondents": INTEGER,
        "votes": {"type": "number", "description": "theme choices (weighted under population)"},
        "weighting": {"type": "string", "enum": ["none", "population"]},
        "weighting_details": {"type": "object", "properties": {
            "design_effect": {"type": "number", "nullable": True},
            "effective_sample_size": NUMBER,
            "regions_without_respondents": {"type": "array", "items": INTEGER},
            "population_covered": {"type": "number", "nullable": True}}},
        "filters": {"type": "object"},
        "theme_max": INTEGER,
        "ranked": {"type": "boolean"},
        "bootstrap": {"type": "object"},
        "themes": {"type": "array", "items": {
            "type": "object",
            "required": ["code", "name", "votes", "vote_share", "respondent_share", "borda",
                         "rank", "ci95"],
            "properties": {
                "code": STRING, "name": STRING, "votes": NUMBER, "vote_share": SHARE,
                "respondent_share": SHARE,
                "borda": {"type": "number", "nullable": True,
                          "description": "a choice in position p of at most m scores m - p + 1"},
                "rank": {"type": "integer", "description": "ties share a rank"},
                "ci95": {"type": "array", "items": SHARE, "minItems": 2, "maxItems": 2},
                "cumulative_share": SHARE,
                "top_k_probability": {"type": "object", "additionalProperties": SHARE}}}},
        "concentration": {"type": "object", "properties": {
            "top_k_share": {"type": "object", "additionalProperties": SHARE},
            "themes_for_80pct": {"type": "integer", "nullable": True}}},
    },
}

PARTICIPATION = {
    "type": "object",
    "required": ["respondents", "by_channel", "by_region", "metro",
                 "municipalities_participating", "by_question"],
    "properties": {
        "respondents": INTEGER,
        "by_channel": {"type": "object", "properties": {"online": INTEGER, "paper": INTEGER}},
        "by_region": {"type": "array", "items": {"type": "object", "properties": {
            "number": INTEGER, "name": STRING, "respondents": INTEGER, "share": SHARE,
            "per_10k": NUMBER}}},
        "metro": {"type": "object", "properties": {
            "inside": INTEGER, "outside": INTEGER,
            "outside_share": {"type": "number", "nullable": True}}},
        "municipalities_participating": INTEGER,
        "by_question": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": INTEGER}},
    },
}


DAY = {"type": "string", "format": "date"}
LIGHT = {"type": "string", "enum": ["complete", "green", "amber", "red", "not_started"]}
BOARD = {
    "type": "object",
    "required": ["plan", "as_of", "summary", "commitments"],
    "properties": {
        "plan": STRING, "title": STRING, "status": {"type": "string",
                                                    "enum": ["draft", "approved"]},
        "as_of": DAY, "starts_on": DAY, "ends_on": DAY, "grace_days": INTEGER,
        "period_ended": {"type": "boolean"},
        "summary": {"type": "object", "properties": {
            key: INTEGER for key in ("complete", "green", "amber", "red", "not_started")}},
        "commitments": {"type": "array", "items": {
            "type": "object",
            "required": ["number", "title", "themes", "lead_agency", "light", "progress",
                         "expected", "origin", "milestones"],
            "properties": {
                "number": INTEGER, "title": STRING, "themes": {"type": "array", "items": STRING},
                "lead_agency": STRING, "light": LIGHT,
                "progress": {**SHARE, "description": "complete milestones' share of the "
                                                     "weight, 4 decimals"},
                "expected": {**SHARE, "description": "share of the weight due by as_of, "
                                                     "4 decimals"},
                "next_milestone": {"type": "integer", "nullable": True},
                "has_indicator": {"type": "boolean"},
                "origin": {"type": "array", "items": {"type": "object", "properties": {
                    "consultation": STRING, "theme": STRING,
                    "rank": {"type": "integer", "nullable": True},
                    "vote_share": {**SHARE, "nullable": True}}}},
                "milestones": {"type": "array", "items": {"type": "object", "properties": {
                    "number": INTEGER, "starts_on": DAY, "ends_on": DAY,
                    "status": {"type": "string", "enum": ["complete", "not_started",
                                                          "in_progress", "overdue"]},
                    "completed_on": {**DAY, "nullable": True}}}}}}},
    },
}
PLAN_ERRORS = {
    "400": {"description": "a bad parameter, named in `parameter`",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "404": {"description": "no action plan with this slug",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


def _responses(schema: dict) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
        "400": {**error, "description": "a bad parameter, named in `parameter`"},
        "403": {**error, "description": "the consultation has not closed (analysts and "
                                        "administrators only)"},
        "404": {**error, "description": "no consultation with this slug"},
    }


def openapi_document() -> dict:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Consulta Abierta API", "version": "1",
                 "description": "Read-only results of citizen consultations. Shares are "
                                "fractions of 1. Only accepted responses count."},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/consultations": {"get": {
                "summary": "Published consultations",
                "parameters": [FILTERS[-1]],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"type": "object", "properties": {
                        "slug": STRING, "title": STRING,
                        "status": {"type": "string", "enum": ["upcoming", "open", "closed"]},
                        "opens_on": {"type": "string", "format": "date"},
                        "closes_on": {"type": "string", "format": "date"},
                        "respondents": INTEGER}}}}}}}}},
            "/consultations/{slug}/ranking": {"get": {
                "summary": "Theme ranking with 95% bootstrap intervals",
                "parameters": [SLUG, WEIGHT, *FILTERS],
                "responses": _responses({"$ref": "#/components/schemas/Ranking"})}},
            "/consultations/{slug}/participation": {"get": {
                "summary": "Who took part, by channel, region, metropolitan zone and answer",
                "parameters": [SLUG, *FILTERS],
                "responses": _responses({"$ref": "#/components/schemas/Participation"})}},
            "/plans": {"get": {
                "summary": "Action plans",
                "parameters": [FILTERS[-1]],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"type": "object", "properties": {
                        "slug": STRING, "title": STRING, "starts_on": DAY, "ends_on": DAY,
                        "commitments": INTEGER}}}}}}}}},
            "/plans/{slug}/board": {"get": {
                "summary": "Each commitment's traffic light, progress and origin as of a day",
                "parameters": [
                    SLUG, FILTERS[-1],
                    {"name": "as_of", "in": "query", "schema": DAY,
                     "description": "YYYY-MM-DD; default: today in America/Mexico_City"}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Board"}}}}, **PLAN_ERRORS}}},
            **{f"/plans/{{slug}}/{name}": {"get": {
                "summary": summary, "parameters": [SLUG],
                "responses": {"200": {"description": "OK", "content": {media: {}}},
                              "404": PLAN_ERRORS["404"]}}}
               for name, media, summary in (
                   ("commitments.csv", "text/csv", "Open data: commitments"),
                   ("milestones.csv", "text/csv", "Open data: milestones"),
                   ("evidence.csv", "text/csv", "Open data: accepted evidence"),
                   ("datapackage.json", "application/json",
                    "Frictionless data package of the plan's CSVs"))},
        },
        "components": {"schemas": {"Error": ERROR, "Ranking": RANKING,
                                   "Participation": PARTICIPATION, "Board": BOARD}},
    }
