// Marks the page as having JavaScript before it is drawn (GOV.UK Frontend's styles read it).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
