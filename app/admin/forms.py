"""Forms of the consultation builder: bilingual fields come in (es, en) pairs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.models import CHANNELS, QUESTION_TYPES


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


CHANNEL_LABELS = {"online": _l("Online"), "paper": _l("Paper questionnaires")}
TYPE_LABELS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "text": _l("Free text"),
    "number": _l("Number"),
}


def _text(label, area: bool = False, max_length: int = 2000):
    field = TextAreaField if area else StringField
    return field(label, validators=[Optional(), Length(max=max_length)])


class VersionedForm(FlaskForm):
    # The version the page was loaded at: a save on top of a newer one is refused.
    version = HiddenField()


class SettingsForm(VersionedForm):
    slug = StringField(_l("Address (slug)"), validators=[InputRequired(), Length(max=80)],
                       description=_l("Lowercase letters, digits and dashes; it becomes the "
                                      "address /c/slug."))
    title_es = _text(_l("Spanish"), max_length=300)
    title_en = _text(_l("English"), max_length=300)
    description_es = _text(_l("Spanish"), area=True, max_length=5000)
    description_en = _text(_l("English"), area=True, max_length=5000)
    opens_on = DateField(_l("Opens on"), validators=[InputRequired()])
    closes_on = DateField(_l("Closes on (inclusive)"), validators=[InputRequired()])
    channels = MultiCheckboxField(_l("Channels"),
                                  choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    double_entry = BooleanField(_l("Paper forms are typed twice by two people (double entry)"))
    publish_free_text = BooleanField(_l("Publish free-text answers with the open data"))
    theme_label_es = _text(_l("Spanish"), max_length=500)
    theme_label_en = _text(_l("English"), max_length=500)
    theme_min = IntegerField(_l("Fewest themes a person must choose"),
                             validators=[InputRequired(), NumberRange(min=1, max=100)])
    theme_max = IntegerField(_l("Most themes a person may choose"),
                             validators=[InputRequired(), NumberRange(min=1, max=100)])
    theme_ranked = BooleanField(_l("The chosen themes are ranked (first, second, …)"))


def _code():
    return StringField(_l("Code"), validators=[InputRequired(), Length(max=60)],
                       description=_l("Lowercase letters, digits, - or _; used in files and "
                                      "open data."))


class ThemeForm(VersionedForm):
    code = _code()
    name_es = _text(_l("Spanish"), max_length=300)
    name_en = _text(_l("English"), max_length=300)


class QuestionForm(VersionedForm):
    code = _code()
    type = SelectField(_l("Type"),
                       choices=[SelectChoice(t, TYPE_LABELS[t]) for t in QUESTION_TYPES])
    required = BooleanField(_l("An answer is required"))
    label_es = _text(_l("Spanish"), area=True, max_length=1000)
    label_en = _text(_l("English"), area=True, max_length=1000)
    max_length = IntegerField(_l("Longest answer, in characters (text questions)"),
                              validators=[Optional(), NumberRange(min=1, max=100000)])
    min_value = FloatField(_l("Smallest number allowed (number questions)"),
                           validators=[Optional()])
    max_value = FloatField(_l("Largest number allowed (number questions)"),
                           validators=[Optional()])


class OptionForm(VersionedForm):
    code = _code()
    label_es = _text(_l("Spanish"), max_length=300)
    label_en = _text(_l("English"), max_length=300)


class ExtendForm(VersionedForm):
    closes_on = DateField(_l("New closing date"), validators=[InputRequired()])


class DuplicateForm(FlaskForm):
    slug = StringField(_l("Address (slug) of the copy"),
                       validators=[InputRequired(), Length(max=80)])


class ImportForm(FlaskForm):
    file = FileField(_l("Definition file (JSON)"), validators=[FileRequired()])
