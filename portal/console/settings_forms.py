"""Forms of the merchant settings pages (CSRF on each; the services judge the values)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from portal.api.models import SCOPES
from portal.merchants.service import LOCALES


class BrandingForm(FlaskForm):
    display_name = StringField("Name shown to customers", validators=[Length(max=200)])
    primary_colour = StringField("Brand colour", validators=[Length(max=32)])
    locale = SelectField("Default language", choices=[(code, code) for code in LOCALES],
                         validate_choice=False)
    logo = FileField("Logo (PNG, JPEG or WebP)")
    remove_logo = BooleanField("Remove the logo")


class OriginsForm(FlaskForm):
    frame_origins = TextAreaField("Origins, one per line", validators=[Length(max=10_000)])


class SendersForm(FlaskForm):
    mail_from_name = StringField("Mail sender name", validators=[Optional(), Length(max=200)])
    reply_to_email = StringField("Reply-to for customers", validators=[Optional(),
                                                                        Length(max=254)])
    sms_sender_id = StringField("SMS sender id", validators=[Optional(), Length(max=64)])


class SchedulesForm(FlaskForm):
    reminder_days = StringField("Invitation reminders (days after sending)",
                                validators=[Length(max=200)])
    payment_reminder_days = StringField("Payment reminders (days around the due date)",
                                        validators=[Length(max=200)])
    retry_delays = StringField("Debit retries (days before the 2nd and the 3rd attempt)",
                               validators=[Length(max=200)])
    route = SelectField("Collection route", choices=[("bank", "Bank (pain.008 files)"),
                                                     ("provider", "Payment provider")],
                        validate_choice=False)


class WebhookForm(FlaskForm):
    url = StringField("Endpoint URL", validators=[Length(max=2100)])


class RotateForm(FlaskForm):
    overlap_hours = StringField("Hours the previous secret still signs",
                                validators=[Length(max=16)])


class RecoverForm(FlaskForm):
    start = StringField("From (UTC)", validators=[Length(max=40)])
    end = StringField("Until (UTC)", validators=[Length(max=40)])


class ApiClientForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    scopes = SelectMultipleField("Scopes", choices=[(scope, scope) for scope in SCOPES],
                                 validate_choice=False)
