"""Forms of account management and of the audit log filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts import ROLE_LABELS
from app.services import geography


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (in a fieldset), easier to use than a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccessForm(FlaskForm):
    roles = CheckboxesField(_l("Roles"), choices=[
        SelectChoice(role, label) for role, label in ROLE_LABELS.items()])
    all_municipalities = BooleanField(_l("All municipalities"))
    regions = CheckboxesField(_l("Regions"), coerce=int)
    municipalities = SelectMultipleField(_l("Municipalities"))
    agencies = TextAreaField(_l("Lead agencies (implementers; one a line)"),
                             validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))

    def agency_names(self) -> set[str]:
        return {line.strip() for line in (self.agencies.data or "").splitlines()
                if line.strip()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        regions = geography.municipalities_by_region()
        self.regions.choices = [SelectChoice(r.number, f"{r.number}. {r.name}")
                                for r in regions]
        self.municipalities.choices = [
            SelectChoice(m.code, f"{m.name} ({m.code})", optgroup=f"{r.number}. {r.name}")
            for r in regions for m in r.municipalities
        ]

    def validate_roles(self, field):
        if not field.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Choose at least one role."))


class CreateAccountForm(AccessForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)])
    submit = SubmitField(_l("Create account"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=1024)])
    submit = SubmitField(_l("Reset password"))


class ConfirmForm(FlaskForm):
    """A button that posts (with its CSRF token) and nothing else."""

    submit = SubmitField(_l("Confirm"))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    action = SelectField(_l("Action"), validators=[Optional()], validate_choice=False)
    actor = StringField(_l("Who (part of the email)"), validators=[Optional(), Length(max=254)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=40)])
    object_id = StringField(_l("Object number"), validators=[Optional(), Length(max=80)])
    since = DateField(_l("From (date)"), validators=[Optional()])
    until = DateField(_l("Until (date)"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("The end date is before the start date."))
