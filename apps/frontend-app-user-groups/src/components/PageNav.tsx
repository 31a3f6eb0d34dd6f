import { Pagination } from '@openedx/paragon';
import { useIntl } from 'react-intl';
import messages from '../messages';

/** Server-side pages (DRF's `num_pages`/`current_page`): only the page on screen is fetched. */
export function PageNav({
  pages,
  page,
  onChange,
  label,
}: {
  pages: number;
  page: number;
  onChange: (page: number) => void;
  label: string;
}) {
  const intl = useIntl();
  if (pages <= 1) return null;
  return (
    <Pagination
      paginationLabel={label}
      pageCount={pages}
      currentPage={page}
      onPageSelect={onChange}
      buttonLabels={{
        previous: intl.formatMessage(messages.previous),
        next: intl.formatMessage(messages.next),
        page: intl.formatMessage(messages.page),
        currentPage: intl.formatMessage(messages.currentPage),
        pageOfCount: intl.formatMessage(messages.of),
      }}
    />
  );
}
