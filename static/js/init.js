// Starts GOV.UK Frontend's components (the header menu, notification banners…).
import { initAll } from "../govuk/govuk-frontend.min.js";
initAll();
