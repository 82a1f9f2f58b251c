// Progressive enhancement only: every page works without this file.

// Move focus to the error summary so screen reader users hear what went wrong.
const summary = document.querySelector('.govuk-error-summary');
if (summary instanceof HTMLElement) summary.focus();

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
