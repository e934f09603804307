from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Sign in"))


class CodeForm(FlaskForm):
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=8)])
    submit = SubmitField(_l("Confirm"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(),
                                                               Length(max=1024)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two passwords are not the same."))])
    submit = SubmitField(_l("Change password"))


class EnrolForm(FlaskForm):
    """Enrol (or replace) an authenticator app: the password, and when one is enrolled
    already, a code of the current app as well."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
    current_code = StringField(_l("Code now shown by your current authenticator app"),
                               validators=[Optional(), Length(max=8)])
    code = StringField(_l("Six-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=8)])
    submit = SubmitField(_l("Confirm"))
