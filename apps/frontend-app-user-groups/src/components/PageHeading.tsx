import { ReactNode, useEffect, useRef } from 'react';
import { useIntl } from 'react-intl';
import { getConfig } from '../config';
import messages from '../messages';

/**
 * A view's heading, announced as a page load would be: the document title becomes it, and focus
 * moves to it when it first shows (a screen reader otherwise stays where the link was).
 */
export function PageHeading({
  title,
  className = 'h2',
  children,
}: {
  title: string;
  className?: string;
  children?: ReactNode;
}) {
  const intl = useIntl();
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} | ${intl.formatMessage(messages.appTitle, { site: getConfig().SITE_NAME })}`;
    ref.current?.focus({ preventScroll: true });
  }, [title, intl]);
  return (
    <h1 ref={ref} tabIndex={-1} className={className} data-testid="page-heading">
      {children ?? title}
    </h1>
  );
}
