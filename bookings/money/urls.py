"""Addresses of the payment pages, webhooks and invoices (part of the "bookings" namespace)."""

from __future__ import annotations

from django.urls import path

from bookings.money import views

urlpatterns = [
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("payments/dev/<str:checkout_id>/", views.dev_checkout, name="dev_checkout"),
    path("pay/<str:token>/", views.order_pay, name="pay_link"),
    path("invoices/<str:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("agency/invoices/", views.agency_invoices, name="agency_invoices"),
    path("manage/invoices/", views.manage_invoices, name="manage_invoices"),
]
