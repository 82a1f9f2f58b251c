// Progressive enhancement for the share page: a "Copy link" button beside each
// share link. Without JavaScript (or where the browser cannot write to the
// clipboard) there is no button, and the link can be selected and copied.
const links = document.querySelectorAll('a[data-copy-link]');
if (links.length && window.isSecureContext && navigator.clipboard) {
  for (const link of links) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'govuk-button govuk-button--secondary govuk-!-margin-bottom-0';
    button.textContent = 'Copy link';
    const label = link.getAttribute('data-copy-label');
    if (label) {
      const hidden = document.createElement('span');
      hidden.className = 'govuk-visually-hidden';
      hidden.textContent = ` for ${label}`;
      button.append(hidden);
    }
    const status = document.createElement('span');
    status.className = 'app-share__copied';
    status.setAttribute('role', 'status');
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(link.textContent.trim());
        status.textContent = 'Link copied';
      } catch {
        status.textContent = 'The link could not be copied: select it and copy it instead';
      }
    });
    const row = document.createElement('p');
    row.className = 'govuk-body';
    row.append(button, status);
    (link.closest('.app-share__link') ?? link).after(row);
  }
}
