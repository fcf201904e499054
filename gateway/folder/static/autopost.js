// Submits the SAML HTTP-POST binding form at once; the page's button does
// the same without scripts.
document.getElementById("autopost").submit();
