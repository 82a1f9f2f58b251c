// Progressive enhancement only: every page works without this file. GOV.UK
// Frontend's own script is not loaded, so the few of its behaviours that
// matter for accessibility are done here.

// Move focus to the error summary so screen reader users hear what went wrong.
const summary = document.querySelector('.govuk-error-summary');
if (summary instanceof HTMLElement) {
  summary.focus();
  // A link in the summary jumps to the field, but a bare jump scrolls the
  // question (legend or label) and its error message out of sight above it:
  // bring the question into view and focus the field, as GOV.UK Frontend does.
  summary.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
    if (!(link instanceof HTMLAnchorElement)) return;
    const input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!(input instanceof HTMLInputElement)) return;
    const legend = input.closest('fieldset')?.querySelector('legend');
    const label = document.querySelector(`label[for="${CSS.escape(input.id)}"]`);
    const question = (input.type === 'checkbox' || input.type === 'radio') && legend ? legend : (label ?? input);
    event.preventDefault();
    question.scrollIntoView();
    input.focus({ preventScroll: true });
  });
}

// Links drawn as buttons (role="button") answer the space key, as buttons do.
document.addEventListener('keydown', (event) => {
  const target = event.target;
  if (event.key === ' ' && target instanceof HTMLAnchorElement && target.getAttribute('role') === 'button') {
    event.preventDefault();
    target.click();
  }
});

// Tell the respondent how many boxes they have ticked on a "Top 3" question.
// The server enforces the limit; this only warns as they go.
for (const group of document.querySelectorAll('[data-max-ticks]')) {
  const max = Number(group.getAttribute('data-max-ticks'));
  if (!max) continue;
  const status = document.createElement('p');
  status.className = 'govuk-body app-choice-count';
  status.setAttribute('aria-live', 'polite');
  group.after(status);
  const boxes = [...group.querySelectorAll('input[type="checkbox"]')];
  const update = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    status.textContent =
      ticked > max
        ? `You have selected ${ticked}. Select up to ${max}: untick ${ticked - max}.`
        : `You have selected ${ticked} of up to ${max}.`;
    status.classList.toggle('govuk-error-message', ticked > max);
  };
  for (const box of boxes) box.addEventListener('change', update);
  update();
}
