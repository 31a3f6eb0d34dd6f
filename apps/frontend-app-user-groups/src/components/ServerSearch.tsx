import { SearchField } from '@openedx/paragon';
import { useIntl } from 'react-intl';
import messages from '../messages';

/**
 * A search the server answers: a labelled field with a visible "Search" button; submitting or
 * clearing hands the text (empty when cleared) to `onSearch`.
 */
export function ServerSearch({
  label,
  placeholder,
  onSearch,
}: {
  label: string;
  placeholder: string;
  onSearch: (text: string) => void;
}) {
  const intl = useIntl();
  return (
    <SearchField
      className="mr-3 mb-2"
      label={label}
      placeholder={placeholder}
      buttonText={intl.formatMessage(messages.search)}
      // Paragon adds "submit search" to the button's spoken name and calls the clear button "clear search",
      // in English: the spoken name should be what the button shows (WCAG 2.5.3), in the page's locale.
      screenReaderText={{
        label,
        submitButton: '', // the visible "Search" is its whole name
        clearButton: intl.formatMessage(messages.clearSearch),
      }}
      onSubmit={(text: string) => onSearch(text)}
      onClear={() => onSearch('')}
      submitButtonLocation="external"
    />
  );
}
