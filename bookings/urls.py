from django.urls import path

from bookings import views, views_webhooks

app_name = "bookings"

urlpatterns = [
    # Payments
    path("payments/stripe/webhook/", views_webhooks.stripe_webhook, name="stripe_webhook"),
    path("payments/dev/<str:checkout_id>/", views.dev_checkout, name="dev_checkout"),
    # Booking a session
    path("sessions/<int:pk>/book/", views.book, name="book"),
    path("sessions/<int:pk>/waiting-list/", views.waitlist_join, name="waitlist_join"),
    path("waiting-list/claim/<str:token>/", views.waitlist_claim, name="waitlist_claim"),
    path("waiting-list/<int:pk>/leave/", views.waitlist_leave, name="waitlist_leave"),
    # Orders, bookings and invoices
    path("orders/<str:reference>/", views.order_detail, name="order"),
    path("orders/<str:reference>/status.json", views.order_status, name="order_status"),
    path("bookings/<int:pk>/", views.booking_detail, name="booking"),
    path("bookings/<int:pk>/calendar.ics", views.booking_ics, name="booking_ics"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("bookings/<int:pk>/transfer/", views.booking_transfer, name="booking_transfer"),
    path("invoices/<str:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("my-bookings/", views.my_bookings, name="my_bookings"),
    path("agency/bookings/", views.agency_bookings, name="agency_bookings"),
    # The administrator's area
    path("manage/bookings/", views.manage_bookings, name="manage_bookings"),
    path("manage/sessions/<int:pk>/", views.manage_session, name="manage_session"),
    path("manage/invoices/", views.manage_invoices, name="manage_invoices"),
]
