"""Addresses of the catalogue, the booking flow, a person's places and the managing pages
(part of the "bookings" namespace: see ``bookings/urls.py``)."""

from __future__ import annotations

from django.urls import path

from bookings.places.views import (
    approvals,
    booking,
    catalogue,
    frontdesk,
    manage,
    members,
    mine,
    orders,
    place_link,
    reservations,
)

urlpatterns = [
    # The public catalogue
    path("", catalogue.catalogue, name="catalogue"),
    path("sessions/<int:pk>/", catalogue.session_detail, name="session"),
    # Booking a session
    path("sessions/<int:pk>/book/", booking.book, name="book"),
    path("sessions/<int:pk>/waiting-list/", mine.waitlist_join, name="waitlist_join"),
    path("waiting-list/claim/<str:token>/", booking.waitlist_claim, name="waitlist_claim"),
    path("waiting-list/<int:pk>/leave/", mine.waitlist_leave, name="waitlist_leave"),
    # Orders and bookings
    path("orders/<str:reference>/", orders.order_detail, name="order"),
    path("orders/<str:reference>/pay/", booking.order_pay, name="order_pay"),
    path("approvals/<str:token>/", approvals.approval_answer, name="approval"),
    path("orders/<str:reference>/status.json", orders.order_status, name="order_status"),
    path("bookings/<int:pk>/", mine.booking_detail, name="booking"),
    path("bookings/<int:pk>/calendar.ics", mine.booking_ics, name="booking_ics"),
    path("bookings/<int:pk>/cancel/", mine.booking_cancel, name="booking_cancel"),
    path("bookings/<int:pk>/transfer/", mine.booking_transfer, name="booking_transfer"),
    path("bookings/<int:pk>/move/", mine.booking_move, name="booking_move"),
    path("bookings/<int:pk>/needs/", mine.booking_needs, name="booking_needs"),
    path("my-bookings/", mine.my_bookings, name="my_bookings"),
    # The attendee's own place from the signed link in their email (no account needed)
    path("place/<str:token>/", place_link.place_link, name="place_link"),
    path("place/<str:token>/cancel/", place_link.place_link_cancel, name="place_link_cancel"),
    path("place/<str:token>/hand-on/", place_link.place_link_hand_on, name="place_link_hand_on"),
    path("agency/bookings/", mine.agency_bookings, name="agency_bookings"),
    # Reserved places, named later
    path("agency/reserve/", reservations.reserve, name="reserve"),
    path("reservations/<str:reference>/", reservations.reservation_detail, name="reservation"),
    path("reservations/places/<int:pk>/name/", reservations.name_place, name="name_place"),
    # Who speaks for an agency
    path("agency/members/", members.members, name="members"),
    path(
        "agency/members/approve/<str:token>/",
        members.membership_approve_link,
        name="membership_approve",
    ),
    path(
        "agency/members/<int:pk>/approve/",
        members.membership_approve_request,
        name="membership_approve_request",
    ),
    path("agency/members/<int:pk>/booker/", members.booker_grant_add, name="booker_grant"),
    path("agency/grants/<int:pk>/revoke/", members.booker_grant_end, name="booker_revoke"),
    # The administrator's area
    path("manage/bookings/", manage.manage_bookings, name="manage_bookings"),
    path("manage/sessions/<int:pk>/", manage.manage_session, name="manage_session"),
    path("manage/sessions/<int:pk>/move/", manage.move_session, name="move_session"),
    path("manage/sessions/<int:pk>/message/", manage.message_session, name="message_session"),
    path("manage/sessions/<int:pk>/book/", frontdesk.book_on_behalf, name="book_on_behalf"),
    path("registers/<int:pk>/add-someone/", frontdesk.walk_in, name="walk_in"),
]
