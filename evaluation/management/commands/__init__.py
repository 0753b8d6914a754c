"""draw_calls, send_survey_invitations, report and demo."""
