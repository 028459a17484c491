<#-- keycloak.v2's login page, with the portal's own "forgot password" and "create your account"
     flows (Keycloak's are off: the identity service runs them by emailed code), and the passkey
     sign-in first (passkeys.ftl). -->
<#import "template.ftl" as layout>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>
<#import "social-providers.ftl" as identityProviders>
<#import "passkeys.ftl" as passkeys>
<@layout.registrationLayout displayMessage=!messagesPerField.existsError('username','password') displayInfo=realm.password && layout.portalUrl()?has_content; section>
    <#if section = "header">
        ${msg("loginAccountTitle")}
    <#elseif section = "form">
        <#-- A passkey first, where the browser has them; the password below stays the fallback. -->
        <@passkeys.conditionalUIData />
        <div id="kc-form">
          <div id="kc-form-wrapper">
            <#if realm.password>
                <form id="kc-form-login" class="${properties.kcFormClass!}" onsubmit="login.disabled = true; return true;" action="${url.loginAction}" method="post" novalidate="novalidate">
                    <#if !usernameHidden??>
                        <#assign label>
                            <#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if>
                        </#assign>
                        <@field.input name="username" label=label error=messagesPerField.getFirstError('username','password')
                            autofocus=true autocomplete="${(enableWebAuthnConditionalUI?has_content)?then('username webauthn', 'username')}" value=login.username!'' />
                        <p class="portail-help" id="username-help">${msg("portailEmailReminder")}</p>
                    </#if>
                    <@field.password name="password" label=msg("password") error="" autofocus=usernameHidden?? autocomplete="current-password">
                        <#if realm.rememberMe && !usernameHidden??>
                            <@field.checkbox name="rememberMe" label=msg("rememberMe") value=login.rememberMe?? />
                        </#if>
                    </@field.password>
                    <#if layout.portalUrl()?has_content>
                        <p class="portail-forgot"><a id="portail-forgot-password" href="${layout.portalLink("/mot-de-passe-oublie")}">${msg("doForgotPassword")}</a></p>
                    </#if>

                    <input type="hidden" id="id-hidden-input" name="credentialId" <#if auth.selectedCredential?has_content>value="${auth.selectedCredential}"</#if>/>
                    <@buttons.loginButton />
                </form>
            </#if>
            </div>
        </div>
    <#elseif section = "socialProviders" >
        <#-- Keycloak lists only the providers that are enabled: none, no section. -->
        <#if realm.password && social.providers?? && social.providers?has_content>
            <@identityProviders.show social=social/>
        </#if>
    <#elseif section = "info" >
        <div id="kc-registration">
            <p>${msg("noAccount")} <a id="portail-register" href="${layout.portalLink("/creer-un-compte")}">${msg("doRegister")}</a></p>
            <p class="portail-help">${msg("portailFirstLogin")}</p>
        </div>
    </#if>

</@layout.registrationLayout>
