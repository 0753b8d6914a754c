"""Forms of the invoice pages."""

from __future__ import annotations

from django import forms

from bookings.models import InvoiceStatus


class MarkPaidForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    paid_on = forms.DateField(label="Paid on", input_formats=["%Y-%m-%d", "%d/%m/%Y"])


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *InvoiceStatus.choices]
    )
    q = forms.CharField(label="Number, agency or PO number", required=False, max_length=100)
