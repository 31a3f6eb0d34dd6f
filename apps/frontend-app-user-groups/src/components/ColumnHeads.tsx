import { MessageDescriptor, useIntl } from 'react-intl';

/** A table's header row: a column header per message, in order; `false` leaves a column out (one shown only to some). */
export function ColumnHeads({ columns }: { columns: Array<MessageDescriptor | false> }) {
  const intl = useIntl();
  return (
    <thead>
      <tr>
        {columns
          .filter((c): c is MessageDescriptor => !!c)
          .map((c) => (
            <th scope="col" key={String(c.id)}>
              {intl.formatMessage(c)}
            </th>
          ))}
      </tr>
    </thead>
  );
}
