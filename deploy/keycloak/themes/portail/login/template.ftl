<#-- The layout of every login page: keycloak.v2's template (same scripts, sections and ids, so
     Keycloak's own pages and its passkey script keep working) inside the portal's bar and footer. -->
<#import "field.ftl" as field>
<#import "footer.ftl" as loginFooter>

<#-- The portal's public address (theme property portalUrl, from configuration)
     and a link into it in the page's language. -->
<#function portalUrl>
  <#return ((properties.portalUrl)!"")?remove_ending("/")>
</#function>
<#function portalLink path>
  <#return portalUrl() + path + "?lang=" + ((locale.currentLanguageTag)!"fr")>
</#function>

<#macro username>
  <#assign label>
    <#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if>
  </#assign>
  <#-- Named after its field, so that the label is tied to it (keycloak.v2's names "username"). -->
  <@field.group name="kc-attempted-username" label=label>
    <div class="${properties.kcInputGroup}">
      <div class="${properties.kcInputGroupItemClass} ${properties.kcFill}">
        <span class="${properties.kcInputClass} ${properties.kcFormReadOnlyClass}">
          <input id="kc-attempted-username" value="${auth.attemptedUsername}" readonly>
        </span>
      </div>
      <div class="${properties.kcInputGroupItemClass}">
        <button id="reset-login" class="${properties.kcFormPasswordVisibilityButtonClass} kc-login-tooltip" type="button"
              aria-label="${msg('restartLoginTooltip')}" onclick="location.href='${url.loginRestartFlowUrl}'">
            <i class="fa-sync-alt fas" aria-hidden="true"></i>
            <span class="kc-tooltip-text">${msg("restartLoginTooltip")}</span>
        </button>
      </div>
    </div>
  </@field.group>
</#macro>

<#macro registrationLayout bodyClass="" displayInfo=false displayMessage=true displayRequiredFields=false>
<!DOCTYPE html>
<html class="${properties.kcHtmlClass!}" lang="${lang}"<#if realm.internationalizationEnabled> dir="${(locale.rtl)?then('rtl','ltr')}"</#if>>

<head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta name="color-scheme" content="light${darkMode?then(' dark', '')}">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex, nofollow">
    <title>${msg("loginTitle",(realm.displayName!''))}</title>
    <link rel="icon" href="${url.resourcesPath}/img/favicon.ico" />
    <#if properties.stylesCommon?has_content>
        <#list properties.stylesCommon?split(' ') as style>
            <link href="${url.resourcesCommonPath}/${style}" rel="stylesheet" />
        </#list>
    </#if>
    <#if properties.styles?has_content>
        <#list properties.styles?split(' ') as style>
            <link href="${url.resourcesPath}/${style}" rel="stylesheet" />
        </#list>
    </#if>
    <script type="importmap">
        {
            "imports": {
                "rfc4648": "${url.resourcesCommonPath}/vendor/rfc4648/rfc4648.js"
            }
        }
    </script>
    <#if properties.scripts?has_content>
        <#list properties.scripts?split(' ') as script>
            <script src="${url.resourcesPath}/${script}" type="text/javascript"></script>
        </#list>
    </#if>
    <#if scripts??>
        <#list scripts as script>
            <script src="${script}" type="text/javascript"></script>
        </#list>
    </#if>
    <script type="module" src="${url.resourcesPath}/js/passwordVisibility.js"></script>
    <script type="module">
        <#outputformat "JavaScript">
        import { startSessionPolling } from "${url.resourcesPath}/js/authChecker.js";

        startSessionPolling(
            ${url.ssoLoginInOtherTabsUrl?c}
        );
        </#outputformat>
    </script>
    <script type="module">
        document.addEventListener("click", (event) => {
            const link = event.target.closest("a[data-once-link]");

            if (!link) {
                return;
            }

            if (link.getAttribute("aria-disabled") === "true") {
                event.preventDefault();
                return;
            }

            const { disabledClass } = link.dataset;

            if (disabledClass) {
                link.classList.add(...disabledClass.trim().split(/\s+/));
            }

            link.setAttribute("role", "link");
            link.setAttribute("aria-disabled", "true");
        });
    </script>
    <#if authenticationSession??>
        <script type="module">
             <#outputformat "JavaScript">
            import { checkAuthSession } from "${url.resourcesPath}/js/authChecker.js";

            checkAuthSession(
                ${authenticationSession.authSessionIdHash?c}
            );
            </#outputformat>
        </script>
    </#if>
</head>

<body id="portail" class="${properties.kcBodyClass!} ${bodyClass}" data-page-id="login-${pageId}">
<a class="portail-skip" href="#kc-page-title">${msg("portailSkip")}</a>
<header class="portail-bar">
    <#if portalUrl()?has_content>
        <a class="portail-brand" href="${portalLink("/")}">${realm.displayName!''}</a>
    <#else>
        <span class="portail-brand">${realm.displayName!''}</span>
    </#if>
    <#-- Two languages: a link to the other one, named in its own language (as the portal does). -->
    <#if realm.internationalizationEnabled && locale.supported?size gt 1>
        <nav aria-label="${msg("languages")}">
            <ul class="portail-languages">
                <#list locale.supported as l>
                    <#if l.languageTag != locale.currentLanguageTag>
                        <li><a id="portail-language-${l.languageTag}" href="${l.url}" lang="${l.languageTag}" hreflang="${l.languageTag}">${l.label}</a></li>
                    </#if>
                </#list>
            </ul>
        </nav>
    </#if>
</header>
<main class="portail-main">
  <div class="portail-card">
    <h1 id="kc-page-title" tabindex="-1"><#nested "header"></h1>
    <#if !(auth?has_content && auth.showUsername() && !auth.showResetCredentials())>
        <#if displayRequiredFields>
            <p class="portail-required"><span aria-hidden="true">*</span> ${msg("requiredFields")}</p>
        </#if>
    <#else>
        <#if displayRequiredFields>
            <p class="portail-required"><span aria-hidden="true">*</span> ${msg("requiredFields")}</p>
        </#if>
        <div class="${properties.kcFormClass} ${properties.kcContentWrapperClass}">
            <#nested "show-username">
            <@username />
        </div>
    </#if>

    <#-- App-initiated actions should not see warning messages about the need to complete the action
         during login. -->
    <#if displayMessage && message?has_content && (message.type != 'warning' || !isAppInitiatedAction??)>
        <div class="portail-message portail-message-${message.type}" role="${(message.type = 'error')?then('alert', 'status')}">
            <span class="kc-feedback-text">${kcSanitize(message.summary)?no_esc}</span>
        </div>
    </#if>

    <#nested "form">

    <#if auth?has_content && auth.showTryAnotherWayLink()>
      <form id="kc-select-try-another-way-form" action="${url.loginAction}" method="post" novalidate="novalidate">
          <input type="hidden" name="tryAnotherWay" value="on"/>
          <button id="try-another-way" type="submit"
              class="${properties.kcButtonSecondaryClass} ${properties.kcButtonBlockClass} ${properties.kcMarginTopClass}">
                ${msg("doTryAnotherWay")}
          </button>
      </form>
    </#if>

    <#nested "socialProviders">

    <#if displayInfo>
        <div id="kc-info" class="portail-info">
            <#nested "info">
        </div>
    </#if>
    <@loginFooter.content/>
  </div>
</main>
<footer class="portail-foot">
    <#if portalUrl()?has_content>
        <a id="portail-back" href="${portalLink("/")}">${msg("portailBack")}</a>
    </#if>
</footer>
</body>
</html>
</#macro>
