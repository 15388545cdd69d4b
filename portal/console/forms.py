"""Console forms (English only: a staff tool)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST from the console's own pages."""


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The new passwords differ.")])


class SecondFactorForm(FlaskForm):
    """A TOTP code, or (instead) one of the recovery codes."""

    code = StringField("Code", validators=[Optional(), Length(max=16)])
    recovery_code = StringField("Recovery code", validators=[Optional(), Length(max=32)])


class InviteAcceptForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=140)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("Password again", validators=[
        DataRequired(), EqualTo("password", message="The passwords differ.")])


class InviteForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=[("support", "Support"),
                                        ("merchant_admin", "Merchant admin"),
                                        ("platform_admin", "Platform admin")])
    merchants = SelectMultipleField("Merchants", choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """Only the CSRF token: a button that does one thing (resend, replay)."""


class ContactForm(FlaskForm):
    contact_email = StringField("Contact email", validators=[Optional(), Length(max=254)])
    reply_to_email = StringField("Reply-to for customers", validators=[Optional(), Length(max=254)])


class RevealIbanForm(FlaskForm):
    """Why the full IBAN is needed; the reason goes into the audit trail with the staff member."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=300)])
