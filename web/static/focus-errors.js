// After a refused submit, move focus to the error summary so screen readers read it first.
(function () {
  "use strict";
  var summary = document.getElementById("feiloppsummering");
  if (summary) summary.focus();
})();
